// plugworker-bench: what one task call costs, and a leak loop for valgrind.
//
//     swift build -c release --product plugworker-bench
//     .build/release/plugworker-bench [--plugins Plugins] [--iterations N] [--rounds R]
//
//     swift build --product plugworker-bench
//     .build/debug/plugworker-bench --leak-loop N --plugins Plugins --fixtures DIR [--leak-on-purpose]
//
// Benchmark mode times, in one run, the per-call path of a pool process
// (NativeTask.invoke: JSON args/kwargs bytes -> ArgumentBinder -> ffi_call ->
// result JSON bytes, with a TaskContext allocated per call) against its
// floors (ffi_call of a prepared cif, a direct C call, JSON parsing alone),
// and prints ns/call (median of R rounds), ratios and a PASS/MISS line for
// the target "<= 2 us per call for arith.add in a release build".
//
// Leak-loop mode runs N calls of every allocating path (string, json and
// bytes results and arguments, failures, argument errors) and exits 0 if
// every outcome was the expected kind; scripts/leakcheck.sh runs it under
// valgrind. --leak-on-purpose adds a malloc(100) per call that is never
// freed, so that the check itself can be shown to catch a leak.
// See docs/BENCHMARKS.md.

#if canImport(Glibc)
import Glibc
#endif
import CFFI
import PlugworkerCore

// MARK: - Command line

struct Options {
    var pluginDirectories: [String] = []
    var fixtures: String?
    var iterations = 1_000_000
    var rounds = 5
    var leakLoop: Int?
    var leakOnPurpose = false
    /// Case keys to measure (`--only a,d`); nil: all.
    var only: Set<String>?

    static let usage = """
        usage: plugworker-bench [--plugins DIR] [--iterations N] [--rounds R] [--only KEYS]
               plugworker-bench --leak-loop N [--plugins DIR] --fixtures DIR [--leak-on-purpose]

          --plugins DIR      plugin directory holding libarith.so and libtext.so
                             (repeatable; default: Plugins)
          --iterations N     calls per timed round for the full-path cases
                             (default 1000000; the floor cases run 10x as many)
          --rounds R         timed rounds per case, after one warm-up (default 5);
                             the table shows the median, min and max
          --only KEYS        measure only these cases, e.g. --only a,d (for
                             profiling one path under perf or callgrind)
          --leak-loop N      instead of timing: N calls of each allocating path
                             (for valgrind, see scripts/leakcheck.sh)
          --fixtures DIR     with --leak-loop: directory holding libconversions.so
                             (make -C Tests/Fixtures/Plugins OUT=DIR)
          --leak-on-purpose  with --leak-loop: also malloc(100) per call and never
                             free it, to prove that the leak check fails on a leak
        """

    static func parse(_ argv: [String]) -> Options {
        var o = Options()
        var i = 0
        func value(_ flag: String) -> String {
            i += 1
            guard i < argv.count else { fail("\(flag) needs a value\n\n\(usage)", status: 64) }
            return argv[i]
        }
        func count(_ flag: String) -> Int {
            let v = value(flag)
            guard let n = Int(v.withoutDigitSeparators), n > 0 else { fail("\(flag): expected a positive integer, not \(v)", status: 64) }
            return n
        }
        while i < argv.count {
            let arg = argv[i]
            switch arg {
            case "--plugins": o.pluginDirectories.append(value(arg))
            case "--fixtures": o.fixtures = value(arg)
            case "--iterations": o.iterations = count(arg)
            case "--rounds": o.rounds = count(arg)
            case "--leak-loop": o.leakLoop = count(arg)
            case "--leak-on-purpose": o.leakOnPurpose = true
            case "--only": o.only = Set(value(arg).split(separator: ",").map(String.init))
            case "-h", "--help":
                print(usage)
                exit(0)
            default: fail("unknown argument \(arg)\n\n\(usage)", status: 64)
            }
            i += 1
        }
        if o.pluginDirectories.isEmpty { o.pluginDirectories = ["Plugins"] }
        if o.leakLoop != nil && o.fixtures == nil { fail("--leak-loop needs --fixtures DIR (make -C Tests/Fixtures/Plugins OUT=DIR)", status: 64) }
        if o.leakLoop == nil && o.leakOnPurpose { fail("--leak-on-purpose only applies to --leak-loop", status: 64) }
        return o
    }
}

extension String {
    var withoutDigitSeparators: String { String(filter { $0 != "_" && $0 != "," }) }
}

func fail(_ message: String, status: Int32 = 1) -> Never {
    var text = "plugworker-bench: " + message + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(status)
}

enum Build {
    #if DEBUG
    static let kind = "debug"
    #else
    static let kind = "release"
    #endif
}

// MARK: - Loading

/// Loads the named plugins through the real loader (search paths, checks,
/// dlopen, plugworker_init, registration) and returns the registry.
func loadPlugins(_ names: [String], searchPaths: [String]) -> Registry {
    let registry = Registry()
    let loader = PluginLoader(registry: registry, searchPaths: searchPaths)
    for name in names {
        do {
            _ = try loader.loadPlugin(named: name)
        } catch {
            fail("cannot load plugin \(name) from \(searchPaths.joined(separator: ":")): \(error)\n(build it first: make -C Plugins; make -C Tests/Fixtures/Plugins OUT=DIR)")
        }
    }
    return registry
}

func task(_ registry: Registry, _ name: String) -> NativeTask {
    guard let t = registry.task(named: name) else {
        fail("task \(name) is not registered (registered: \(registry.taskNames.joined(separator: ", ")))")
    }
    return t
}

/// The C function behind a symbol of an already loaded library: dlopen of
/// the same file returns the loader's handle (RTLD_NODELETE, never closed).
func symbol(_ name: String, inLibrary file: String, searchPaths: [String]) -> UnsafeMutableRawPointer {
    for dir in searchPaths {
        let path = dir + "/" + file
        guard access(path, F_OK) == 0 else { continue }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else { continue }
        if let sym = dlsym(handle, name) { return sym }
    }
    fail("cannot find \(name) in \(file) on \(searchPaths.joined(separator: ":"))")
}

func text(_ outcome: TaskOutcome) -> String {
    switch outcome {
    case .success(let bytes): return String(decoding: bytes, as: UTF8.self)
    case .failure(let e): return "failure \(e.module).\(e.type): \(e.message)"
    case .retry(let countdown, let reason): return "retry in \(countdown)s: \(reason ?? "-")"
    }
}

// MARK: - Timing

@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Keeps a value alive and opaque to the optimizer.
@inline(never) @_optimize(none)
func blackHole<T>(_ value: T) { _ = value }

struct Measurement {
    var key: String
    var label: String
    var iterations: Int
    /// ns per call of each timed round, sorted.
    var rounds: [Double]
    var median: Double {
        let n = rounds.count
        return n % 2 == 1 ? rounds[n / 2] : (rounds[n / 2 - 1] + rounds[n / 2]) / 2
    }
}

/// One timed case: `body(n)` makes n calls and returns a checksum of their
/// results.
struct Case {
    var key: String
    var label: String
    var iterations: Int
    var body: (Int) -> Int
}

final class Bench {
    let rounds: Int
    let only: Set<String>?
    var cases: [Case] = []
    var results: [Measurement] = []
    /// Where TaskContext objects go in case f, so that they escape.
    var lastContext: TaskContext?
    /// Everything the timed loops computed, printed at the end so that no
    /// loop can be optimised away.
    var checksum = 0

    init(rounds: Int, only: Set<String>?) {
        self.rounds = rounds
        self.only = only
    }

    func add(_ key: String, _ label: String, iterations: Int, _ body: @escaping (Int) -> Int) {
        if let only, !only.contains(key) { return }
        cases.append(Case(key: key, label: label, iterations: iterations, body: body))
    }

    /// Warms every case up (n/10 calls), then runs `rounds` rounds of n
    /// calls, the cases interleaved round by round, so that a burst of load
    /// from elsewhere on the machine spreads over all of them instead of
    /// skewing one.
    func run() {
        for c in cases { checksum &+= c.body(max(c.iterations / 10, 1000)) }
        var perCall = [[Double]](repeating: [], count: cases.count)
        for r in 0..<rounds {
            for (i, c) in cases.enumerated() {
                let t0 = monotonicNanos()
                let sum = c.body(c.iterations)
                let t1 = monotonicNanos()
                checksum &+= sum
                perCall[i].append(Double(t1 &- t0) / Double(c.iterations))
            }
            let line = cases.indices.map { "\(cases[$0].key) \(format(perCall[$0].last!))" }.joined(separator: ", ")
            print("  round \(r + 1)/\(rounds): \(line) ns/call")
        }
        results = cases.indices.map { Measurement(key: cases[$0].key, label: cases[$0].label, iterations: cases[$0].iterations, rounds: perCall[$0].sorted()) }
    }

    func result(_ key: String) -> Measurement? { results.first { $0.key == key } }
}

/// A copy of `text` that lives for the rest of the process, as the bytes of
/// a message body would for the duration of a call.
func buffer(_ text: String) -> UnsafeRawBufferPointer {
    let bytes = Array(text.utf8)
    let p = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
    bytes.withUnsafeBytes { p.copyMemory(from: $0) }
    return UnsafeRawBufferPointer(rebasing: p[0..<bytes.count])
}

func format(_ ns: Double) -> String {
    if ns >= 100 { return String(Int(ns.rounded())) }
    let tenths = Int((ns * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let n = s.count
    guard n < width else { return s }
    let fill = String(repeating: " ", count: width - n)
    return right ? fill + s : s + fill
}

func ratio(_ a: Double, _ b: Double) -> String {
    guard b > 0 else { return "n/a" }
    let r = a / b
    return r >= 100 ? "\(Int(r.rounded()))x" : "\(format(r))x"
}

// MARK: - Benchmark mode

/// Runs n calls of `task` with the given JSON, a new TaskContext per call
/// as the pool creates one per request; returns a checksum of the results.
func invokeLoop(_ task: NativeTask, _ n: Int, args: UnsafeRawBufferPointer, kwargs: UnsafeRawBufferPointer,
                id: String, name: String) -> Int {
    var sum = 0
    for _ in 0..<n {
        let context = TaskContext(id: id, taskName: name)
        switch task.invoke(args: args, kwargs: kwargs, context: context) {
        case .success(let bytes): sum &+= bytes.count &+ Int(bytes[0])
        case .failure, .retry: fail("\(name) did not succeed inside the timed loop")
        }
    }
    return sum
}

func runBenchmarks(_ o: Options) {
    let registry = loadPlugins(["arith", "text"], searchPaths: o.pluginDirectories)
    let add = task(registry, "arith.add")
    let upper = task(registry, "text.upper")
    let addAddress = symbol("arith_add", inLibrary: "libarith.so", searchPaths: o.pluginDirectories)

    let id = "d9b1d7db-5f4a-4b5b-9a64-2c8f9e0f4b11"  // a Celery task id: a UUID string
    let args = buffer("[2, 3]")
    let noKwargs = buffer("{}")
    let noArgs = buffer("[]")
    let kwargs = buffer(#"{"a": 2, "b": 3}"#)
    let upperArgs = buffer(#"["hello, world"]"#)

    // Check the results once before timing anything.
    for (t, a, k, want) in [(add, args, noKwargs, "5"), (add, noArgs, kwargs, "5"),
                            (upper, upperArgs, noKwargs, #""HELLO, WORLD""#)] {
        let got = text(t.invoke(args: a, kwargs: k, context: TaskContext(id: id, taskName: t.name)))
        guard got == want else { fail("\(t.name) returned \(got), expected \(want)") }
    }

    // d: the floor, a prepared cif for int64 add(int64, int64), no JSON.
    let cif = UnsafeMutablePointer<ffi_cif>.allocate(capacity: 1)
    let types = UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>.allocate(capacity: 2)
    types[0] = cffi_type_sint64()
    types[1] = cffi_type_sint64()
    guard cffi_prep_cif(cif, 2, cffi_type_sint64(), types) == FFI_OK else { fail("ffi_prep_cif failed") }
    let a = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
    let b = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
    a.pointee = 2
    b.pointee = 3
    let values = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 2)
    values[0] = UnsafeMutableRawPointer(a)
    values[1] = UnsafeMutableRawPointer(b)
    let result = UnsafeMutablePointer<Int64>.allocate(capacity: 2)  // >= sizeof(ffi_arg)
    let ffiFunction = unsafeBitCast(addAddress, to: (@convention(c) () -> Void).self)
    ffi_call(cif, ffiFunction, result, values)
    guard result.pointee == 5 else { fail("ffi_call of arith_add returned \(result.pointee)") }
    let direct = unsafeBitCast(addAddress, to: (@convention(c) (Int64, Int64) -> Int64).self)
    guard direct(2, 3) == 5 else { fail("arith_add(2, 3) returned \(direct(2, 3))") }

    let n = o.iterations
    let floorN = n * 10
    let bench = Bench(rounds: o.rounds, only: o.only)

    bench.add("a", "arith.add  args [2, 3]         full path", iterations: n) { n in
        invokeLoop(add, n, args: args, kwargs: noKwargs, id: id, name: "arith.add")
    }
    bench.add("b", #"arith.add  kwargs {"a":2,"b":3} full path"#, iterations: n) { n in
        invokeLoop(add, n, args: noArgs, kwargs: kwargs, id: id, name: "arith.add")
    }
    bench.add("c", #"text.upper ["hello, world"]    full path"#, iterations: n) { n in
        invokeLoop(upper, n, args: upperArgs, kwargs: noKwargs, id: id, name: "text.upper")
    }
    bench.add("d", "ffi_call arith_add, prepared cif (floor)", iterations: floorN) { n in
        var sum = 0
        for _ in 0..<n {
            ffi_call(cif, ffiFunction, result, values)
            sum &+= Int(result.pointee)
        }
        return sum
    }
    bench.add("d2", "direct C call arith_add (reference)", iterations: floorN) { n in
        var sum = 0
        for _ in 0..<n { sum &+= Int(direct(2, 3)) }
        return sum
    }
    bench.add("e", "JSONReader args [2, 3] only (no call)", iterations: floorN) { n in
        var sum = 0
        for _ in 0..<n {
            var r = JSONReader(args)
            try! r.beginArray()
            var first = true
            while try! r.nextElement(first: first) {
                first = false
                if case .int(let v) = try! r.readNumber() { sum &+= Int(v) }
            }
            try! r.expectEnd()
        }
        return sum
    }
    // Breakdown of the full path (not floors; see docs/BENCHMARKS.md).
    bench.add("f", "TaskContext alloc + free only", iterations: n) { [unowned bench] n in
        var sum = 0
        for _ in 0..<n {
            // Stored so that it escapes; the previous one is freed here.
            bench.lastContext = TaskContext(id: id, taskName: "arith.add")
            sum &+= 1
        }
        bench.lastContext = nil
        return sum
    }
    bench.add("g", "arith.add  args [2, 3], one reused TaskContext", iterations: n) { n in
        let context = TaskContext(id: id, taskName: "arith.add")
        var sum = 0
        for _ in 0..<n {
            switch add.invoke(args: args, kwargs: noKwargs, context: context) {
            case .success(let bytes): sum &+= bytes.count &+ Int(bytes[0])
            case .failure, .retry: fail("arith.add failed")
            }
        }
        return sum
    }
    bench.add("h", "JSONWriter int64 result only", iterations: n) { n in
        var sum = 0
        for i in 0..<n {
            var w = JSONWriter(capacity: 32)
            w.write(int: Int64(i & 7))
            sum &+= w.bytes.count &+ Int(w.bytes[0])
        }
        return sum
    }

    print("plugworker-bench: \(Build.kind) build; \(bench.cases.count) cases, each warmed up, then \(o.rounds) rounds with the cases interleaved")
    if Build.kind != "release" {
        print("  WARNING: a debug build; build with -c release for meaningful numbers")
    }
    bench.run()
    blackHole(bench.checksum)
    report(bench, o)
}

func report(_ bench: Bench, _ o: Options) {
    let order = ["a", "b", "c", "d", "d2", "e", "f", "g", "h"]
    print("")
    print("plugworker-bench (\(Build.kind) build; \(o.rounds) rounds; ns/call: median [min .. max])")
    print(pad("", 4) + pad("case", 50) + pad("calls/round", 13, right: true) + pad("median", 10, right: true) + pad("min", 9, right: true) + pad("max", 9, right: true))
    for key in order {
        guard let m = bench.result(key) else { continue }
        if key == "f" { print("    -- breakdown --") }
        print(pad(key, 4) + pad(m.label, 50) + pad(String(m.iterations), 13, right: true)
              + pad(format(m.median), 10, right: true) + pad(format(m.rounds.first!), 9, right: true)
              + pad(format(m.rounds.last!), 9, right: true))
    }
    func median(_ key: String) -> Double? { bench.result(key)?.median }
    var lines: [String] = []
    func line(_ text: String, _ a: String, _ b: String, _ value: (Double, Double) -> String) {
        if let x = median(a), let y = median(b) { lines.append("  " + pad(text, 40) + "= " + value(x, y)) }
    }
    line("a full path (args)   / d libffi-only", "a", "d") { ratio($0, $1) }
    line("b full path (kwargs) / d libffi-only", "b", "d") { ratio($0, $1) }
    line("c text.upper         / d libffi-only", "c", "d") { ratio($0, $1) }
    line("b kwargs / a args", "b", "a") { ratio($0, $1) }
    line("d libffi-only        / d2 direct call", "d", "d2") { ratio($0, $1) }
    line("a - d  (host overhead per call)", "a", "d") { "\(format($0 - $1)) ns" }
    line("e JSON args parse, share of a", "e", "a") { "\(format(100 * $0 / $1))%" }
    line("a - g  (per-call TaskContext, in a)", "a", "g") { "\(format($0 - $1)) ns" }
    line("f TaskContext alloc+free, share of a", "f", "a") { "\(format(100 * $0 / $1))%" }
    line("h JSONWriter result, share of a", "h", "a") { "\(format(100 * $0 / $1))%" }
    if !lines.isEmpty {
        print("")
        print("ratios (of medians)")
        for l in lines { print(l) }
    }
    if let full = median("a") {
        print("")
        let verdict = full <= 2000 ? "PASS" : "MISS"
        let note = Build.kind == "release" ? "" : "  (debug build: the target is for release builds; rerun with -c release)"
        print("\(verdict): arith.add full path \(format(full)) ns/call against the target <= 2 us per call in a release build (\(Build.kind) build)\(note)")
    }
    print("checksum \(bench.checksum)")
}

// MARK: - Leak-loop mode

struct LeakCase {
    enum Expect { case success, failure, retry }
    var task: String
    var args: [UInt8]
    var kwargs: [UInt8]
    var expect: Expect
    var what: String

    init(task: String, args: String, kwargs: String = "{}", expect: Expect, what: String) {
        self.init(task: task, args: Array(args.utf8), kwargs: Array(kwargs.utf8), expect: expect, what: what)
    }

    init(task: String, args: [UInt8], kwargs: [UInt8], expect: Expect, what: String) {
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.expect = expect
        self.what = what
    }
}

/// Every allocating path of a call, and the outcome each must come to.
func makeLeakCases() -> [LeakCase] { [
    // Allocated results, freed by the host.
    LeakCase(task: "text.upper", args: #"["hello, world"]"#, expect: .success, what: "string result from a Swift plugin"),
    LeakCase(task: "conv.string", args: #"["héllo wörld"]"#, expect: .success, what: "string arg + result"),
    LeakCase(task: "conv.string", args: #"["tab\tquote\" back\\ nl\n u\u00e9 pair\ud83d\ude00 ctl\u0001"]"#,
             expect: .success, what: "string with escapes, both ways"),
    LeakCase(task: "conv.string", args: "[\"" + String(repeating: "long string ", count: 200) + "\"]",
             expect: .success, what: "long string (arena growth)"),
    LeakCase(task: "conv.json", args: #"[{"a": [1, 2.5, {"b": null}], "s": "x\"y"}]"#, expect: .success, what: "json arg + result"),
    LeakCase(task: "conv.bytes", args: #"[{"__type__": "base64", "__value__": "aGVsbG8gd29ybGQ="}]"#,
             expect: .success, what: "tagged base64 bytes arg + bytes result"),
    LeakCase(task: "conv.bytes", args: #"["plain text as bytes"]"#, expect: .success, what: "string as bytes arg"),
    LeakCase(task: "conv.bytes", args: #"[""]"#, expect: .success, what: "empty bytes (malloc(1), size 0)"),
    LeakCase(task: "conv.null_string", args: "[]", expect: .success, what: "NULL string result"),
    LeakCase(task: "conv.mixed", args: #"[7, "s", 2.5, true, {"k": ["v"]}]"#, expect: .success, what: "mixed args"),
    LeakCase(task: "conv.ctx", args: "[]", expect: .success, what: "ctx strings (strdup'd, freed with the context)"),
    LeakCase(task: "conv.string", args: "[]", kwargs: #"{"v": "by keyword"}"#, expect: .success, what: "kwargs string"),
    // Failure paths.
    LeakCase(task: "conv.bad_json", args: "[]", expect: .failure, what: "invalid json result (freed, fails)"),
    LeakCase(task: "conv.fail", args: #"["ValueError", "boom"]"#, expect: .failure, what: "ctx_fail"),
    LeakCase(task: "arith.add", args: "[9223372036854775807, 1]", expect: .failure, what: "ctx_fail from a C plugin"),
    LeakCase(task: "conv.retry", args: "[0.5]", expect: .retry, what: "ctx_retry with a reason"),
    LeakCase(task: "arith.flaky", args: "[1]", expect: .retry, what: "ctx_retry, formatted reason"),
    // Argument errors.
    LeakCase(task: "arith.add", args: #"["x", 3]"#, expect: .failure, what: "type error (str for int64)"),
    LeakCase(task: "conv.string", args: "[5]", expect: .failure, what: "type error (int for string)"),
    LeakCase(task: "conv.i8", args: "[300]", expect: .failure, what: "out of range"),
    LeakCase(task: "conv.string", args: #"["a\u0000b"]"#, expect: .failure, what: "NUL in a C string"),
    LeakCase(task: "conv.bytes", args: #"[{"__type__": "base64", "__value__": "!!!"}]"#, expect: .failure, what: "invalid base64"),
    LeakCase(task: "conv.bytes", args: #"[{"__type__": "hex", "__value__": "00"}]"#, expect: .failure, what: "dict with another __type__ for bytes"),
    LeakCase(task: "conv.mixed", args: #"[1, 2, "x"]"#, kwargs: #"{"flag": 1}"#, expect: .failure, what: "several errors, first kept"),
    LeakCase(task: "arith.add", args: "[1, 2, 3]", expect: .failure, what: "too many positional"),
    LeakCase(task: "arith.add", args: "[]", expect: .failure, what: "missing arguments"),
    LeakCase(task: "arith.add", args: "[]", kwargs: #"{"a": 1, "c": 2}"#, expect: .failure, what: "unexpected keyword"),
    LeakCase(task: "arith.add", args: "[1]", kwargs: #"{"a": 1, "b": 2}"#, expect: .failure, what: "multiple values"),
    LeakCase(task: "arith.add", args: "[]", kwargs: #"{"a": 1, "a": 2, "b": 3}"#, expect: .failure, what: "duplicate keyword"),
    LeakCase(task: "arith.add", args: "[1, ", expect: .failure, what: "malformed JSON args"),
    LeakCase(task: "arith.add", args: "[1, 2]", kwargs: #"{"a": "#, expect: .failure, what: "malformed JSON kwargs"),
    // ["a\xFFb"]: invalid UTF-8, which a Swift string literal cannot spell.
    LeakCase(task: "conv.string", args: [0x5B, 0x22, 0x61, 0xFF, 0x62, 0x22, 0x5D], kwargs: Array("{}".utf8),
             expect: .failure, what: "invalid UTF-8 in a string arg"),
] }

func runLeakLoop(_ o: Options, calls: Int) {
    let searchPaths = o.pluginDirectories + [o.fixtures!]
    let registry = loadPlugins(["arith", "text", "conversions"], searchPaths: searchPaths)
    let cases = makeLeakCases()
    var total = 0
    var leaked = 0
    for c in cases {
        let t = task(registry, c.task)
        let args = c.args
        let kwargs = c.kwargs
        args.withUnsafeBytes { ab in
            kwargs.withUnsafeBytes { kb in
                for i in 0..<calls {
                    let context = TaskContext(id: "leak-\(i)", taskName: c.task)
                    let outcome = t.invoke(args: ab, kwargs: kb, context: context)
                    let ok: Bool
                    switch (outcome, c.expect) {
                    case (.success, .success), (.failure, .failure), (.retry, .retry): ok = true
                    default: ok = false
                    }
                    if !ok {
                        fail("\(c.task) \(String(decoding: args, as: UTF8.self)) \(String(decoding: kwargs, as: UTF8.self)) (\(c.what)): expected \(c.expect), got \(text(outcome))", status: 3)
                    }
                    if i == 0 { print("  \(pad(c.task, 17)) \(pad(c.what, 48)) -> \(text(outcome).prefix(90))") }
                    blackHole(outcome)
                    if o.leakOnPurpose {
                        // Deliberately lost: the pointer is stored nowhere. It is
                        // written to and folded into a count, so that the
                        // optimiser cannot drop the malloc.
                        let p = malloc(100)!
                        memset(p, 0xA5, 100)
                        leaked &+= 100 &+ (Int(bitPattern: p) & 1)
                    }
                    total += 1
                }
            }
        }
    }
    print("leak-loop: \(total) calls (\(calls) x \(cases.count) cases), every outcome as expected")
    if o.leakOnPurpose { print("leak-loop: --leak-on-purpose: leaked about \(leaked) bytes in \(total) blocks") }
}

// MARK: - Main

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
if let calls = options.leakLoop {
    runLeakLoop(options, calls: calls)
} else {
    runBenchmarks(options)
}
exit(0)
