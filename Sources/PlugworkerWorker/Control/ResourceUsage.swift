#if canImport(Glibc)
import Glibc
#endif
import PlugworkerCore

/// The process's resource usage, as `stats` reports it under `rusage`
/// (Python's `resource.getrusage(RUSAGE_SELF)`): CPU times in seconds,
/// `maxrss` in kilobytes (Linux), the rest as counts.
public struct ResourceUsage: Sendable, Equatable {
    public var utime: Double
    public var stime: Double
    public var maxrss: Int
    public var ixrss: Int
    public var idrss: Int
    public var isrss: Int
    public var minflt: Int
    public var majflt: Int
    public var nswap: Int
    public var inblock: Int
    public var oublock: Int
    public var msgsnd: Int
    public var msgrcv: Int
    public var nsignals: Int
    public var nvcsw: Int
    public var nivcsw: Int

    public init(utime: Double = 0, stime: Double = 0, maxrss: Int = 0, ixrss: Int = 0, idrss: Int = 0, isrss: Int = 0,
                minflt: Int = 0, majflt: Int = 0, nswap: Int = 0, inblock: Int = 0, oublock: Int = 0,
                msgsnd: Int = 0, msgrcv: Int = 0, nsignals: Int = 0, nvcsw: Int = 0, nivcsw: Int = 0) {
        self.utime = utime
        self.stime = stime
        self.maxrss = maxrss
        self.ixrss = ixrss
        self.idrss = idrss
        self.isrss = isrss
        self.minflt = minflt
        self.majflt = majflt
        self.nswap = nswap
        self.inblock = inblock
        self.oublock = oublock
        self.msgsnd = msgsnd
        self.msgrcv = msgrcv
        self.nsignals = nsignals
        self.nvcsw = nvcsw
        self.nivcsw = nivcsw
    }

    /// This process's usage now (`getrusage(RUSAGE_SELF)`); nil if the
    /// call fails (then `stats` says `"N/A"`, as Python does).
    public static func current() -> ResourceUsage? {
        var u = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u) == 0 else { return nil }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return ResourceUsage(
            utime: seconds(u.ru_utime), stime: seconds(u.ru_stime), maxrss: Int(u.ru_maxrss),
            ixrss: Int(u.ru_ixrss), idrss: Int(u.ru_idrss), isrss: Int(u.ru_isrss), minflt: Int(u.ru_minflt),
            majflt: Int(u.ru_majflt), nswap: Int(u.ru_nswap), inblock: Int(u.ru_inblock), oublock: Int(u.ru_oublock),
            msgsnd: Int(u.ru_msgsnd), msgrcv: Int(u.ru_msgrcv), nsignals: Int(u.ru_nsignals), nvcsw: Int(u.ru_nvcsw),
            nivcsw: Int(u.ru_nivcsw))
    }

    /// The `rusage` object, keys in Python's order.
    public var json: JSON {
        let counts: [(String, Int)] = [
            ("maxrss", maxrss), ("ixrss", ixrss), ("idrss", idrss), ("isrss", isrss), ("minflt", minflt),
            ("majflt", majflt), ("nswap", nswap), ("inblock", inblock), ("oublock", oublock), ("msgsnd", msgsnd),
            ("msgrcv", msgrcv), ("nsignals", nsignals), ("nvcsw", nvcsw), ("nivcsw", nivcsw),
        ]
        var members = [JSONObject.Member("utime", .double(utime)), JSONObject.Member("stime", .double(stime))]
        members += counts.map { JSONObject.Member($0.0, .int(Int64($0.1))) }
        return .object(JSONObject(members))
    }
}
