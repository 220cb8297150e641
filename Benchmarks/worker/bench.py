#!/usr/bin/env python3
"""plugworker vs. Python Celery vs. the broker's own ceiling, in one run.

    python Benchmarks/worker/bench.py --workers plugworker,celery,ceiling
    python Benchmarks/worker/bench.py --workers celery,ceiling --markdown out.md

Every worker runs the same tasks (Plugins/arith.c, or its Python stand-in
Tests/Integration/stand_in/tasks.py) with -c 2 against the same broker, and
is driven by a stock Celery client (send_task, rpc:// results):

  (a) drain: 20,000 arith.add tasks (ignore_result) published while the
      worker is stopped; then the worker starts and the time from its first
      consumption until the queue is empty gives msg/s. The broker ceiling
      consumes and acks the same 20,000 messages with nothing else to do
      (Benchmarks/amqp-ceiling/ceiling, or a py-amqp fallback, labelled).
  (b) 5,000 tasks with rpc results: send all, then get all; total time.
  (c) 1,000 sequential round trips (send_task(...).get()): p50/p99 latency.
  (d) start -> ready: from spawn to the "<node> ready." log line (median).
  (e) idle RSS: sum over the worker's process tree (/proc), 3 s after ready.

See README.md beside this file for the details and the targets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"

# Run inside the project's venv (made by Tests/Integration/run.sh) when the
# current interpreter has no Celery.
try:
    import celery  # noqa: F401
except ImportError:
    if VENV_PYTHON.exists() and Path(sys.executable).resolve() != VENV_PYTHON.resolve() \
            and not os.environ.get("PLUGWORKER_BENCH_REEXEC"):
        os.environ["PLUGWORKER_BENCH_REEXEC"] = "1"
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    sys.exit("bench.py needs Celery: run `bash Tests/Integration/run.sh` once to make "
             ".venv, or `pip install 'celery>=5.3,<6'`")

import amqp  # noqa: E402
from celery import Celery  # noqa: E402
from kombu import Connection  # noqa: E402

sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))
import harness  # noqa: E402

CEILING_BIN = REPO_ROOT / "Benchmarks" / "amqp-ceiling" / "ceiling"
CEILING_RE = re.compile(r"consume\+ack:\s*(\d+)\s*msgs\s+in\s+([\d.]+)\s*s\s*=\s*([\d.]+)\s*msg/s")
WORKER_KINDS = ("plugworker", "celery")
ALL_COLUMNS = ("plugworker", "celery", "ceiling")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- broker helpers --------------------------------------------------------


class Broker:
    def __init__(self, url: str):
        self.url = url
        self.conn = Connection(url)
        self.conn.connect()
        self.channel = self.conn.channel()
        self.queues: set[str] = set()

    def ready_count(self, queue: str) -> int:
        return self.channel.queue_declare(queue, passive=True).message_count

    def declare(self, queue: str) -> None:
        """Declares `queue` exactly as a Celery client does for queue=NAME."""
        self.channel.exchange_declare(queue, "direct", durable=True, auto_delete=False)
        self.channel.queue_declare(queue, durable=True, exclusive=False, auto_delete=False)
        self.channel.queue_bind(queue, queue, queue)
        self.queues.add(queue)

    def delete(self, queue: str) -> None:
        try:
            self.channel.queue_delete(queue)
            self.channel.exchange_delete(queue)
        except Exception as exc:
            log(f"note: could not delete {queue}: {exc}")
            self.conn.close()
            self.conn = Connection(self.url)
            self.conn.connect()
            self.channel = self.conn.channel()
        self.queues.discard(queue)

    def close(self) -> None:
        for q in list(self.queues):
            self.delete(q)
        self.conn.close()


def rabbitmqctl_counts(queue: str) -> tuple[int, int] | None:
    """(messages, messages_unacknowledged) from rabbitmqctl, or None."""
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    try:
        out = subprocess.run([exe, "-q", "list_queues", "name", "messages",
                              "messages_unacknowledged"], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == queue:
            return int(parts[1]), int(parts[2])
    return None


def wait_queue_drained(queue: str, timeout: float = 30.0) -> tuple[int, int] | None:
    deadline = time.monotonic() + timeout
    counts = None
    while time.monotonic() < deadline:
        counts = rabbitmqctl_counts(queue)
        if counts is None or counts == (0, 0):
            return counts
        time.sleep(0.2)
    return counts


# ---- publishing ------------------------------------------------------------


def publish_adds(app: Celery, queue: str, count: int) -> float:
    """Publishes `count` arith.add tasks with ignore_result; returns seconds."""
    started = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for i in range(count):
            app.send_task("arith.add", (i, i), queue=queue, ignore_result=True,
                          producer=producer)
    return time.perf_counter() - started


# ---- worker benchmarks -----------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# Both workers start without mingle: it waits 1 s for other nodes' replies
# whatever the worker (Celery's inspect timeout, which plugworker keeps), and
# on a shared broker it would make each worker sync with the others.
WORKER_ARGS = ("--without-mingle",)


def start_worker(kind: str, queue: str, args, logdir: Path) -> harness.WorkerProcess:
    name = unique(f"bench-{kind}")
    proc = harness.WorkerProcess(kind, name=name, queue=queue, concurrency=args.concurrency,
                                 log_path=logdir / f"{name}.log", loglevel=args.loglevel,
                                 extra_args=WORKER_ARGS)
    return proc.start()


def bench_startup(kind: str, app, broker: Broker, args, logdir: Path) -> dict:
    """(d) spawn -> ready line, and (e) RSS of the process tree 3 s later."""
    startups, rsses, psses, nprocs = [], [], [], 0
    for run in range(args.startup_runs):
        queue = unique(f"bench-{kind}-idle")
        broker.declare(queue)
        proc = start_worker(kind, queue, args, logdir)
        try:
            proc.wait_ready(args.ready_timeout)
            startups.append(proc.startup_seconds)
            time.sleep(args.idle_seconds)
            pids = proc.tree_pids()
            rsses.append(proc.tree_rss_bytes())
            psses.append(proc.tree_pss_bytes())
            log(f"{kind}: start->ready {proc.startup_seconds * 1000:.0f} ms, idle RSS "
                f"{rsses[-1] / 2**20:.1f} MiB (PSS {psses[-1] / 2**20:.1f} MiB) over "
                f"{len(pids)} processes (run {run + 1})")
            nprocs = len(pids)
        finally:
            proc.stop()
            broker.delete(queue)
    return {"startup_s": statistics.median(startups), "startup_runs_s": startups,
            "idle_rss_bytes": statistics.median(rsses), "idle_rss_runs_bytes": rsses,
            "idle_pss_bytes": statistics.median(psses), "idle_processes": nprocs}


def bench_drain(kind: str, app, broker: Broker, args, logdir: Path, queue: str):
    """(a): returns (results, the running worker) for the next phases."""
    broker.declare(queue)
    n = args.drain_count
    log(f"{kind}: publishing {n} arith.add (ignore_result) with no worker running")
    pub_s = publish_adds(app, queue, n)
    sentinel = app.send_task("arith.add", (n, n), queue=queue)  # the last message
    total = n + 1
    deadline = time.monotonic() + 10
    while broker.ready_count(queue) != total:
        if time.monotonic() > deadline:
            raise AssertionError(f"{broker.ready_count(queue)} of {total} published messages "
                                 f"in the queue")
        time.sleep(0.05)
    log(f"{kind}: published in {pub_s:.1f} s ({n / pub_s:.0f}/s); starting the worker")
    proc = start_worker(kind, queue, args, logdir)
    # First consumption: the ready count drops below what was published.
    t_first = None
    deadline = time.monotonic() + args.ready_timeout
    while t_first is None:
        if broker.ready_count(queue) < total:
            t_first = time.monotonic()
        elif not proc.alive() or time.monotonic() > deadline:
            proc.stop()
            raise harness.WorkerNotReady(f"{kind} consumed nothing within {args.ready_timeout} s:\n"
                                         + proc.log_text()[-4000:])
        else:
            time.sleep(0.001)
    # The sentinel is the last message of the queue: its result marks the end.
    value = sentinel.get(timeout=args.drain_timeout)
    t_done = time.monotonic()
    assert value == 2 * n, f"sentinel result {value!r}"
    counts = wait_queue_drained(queue)
    drain_s = t_done - t_first
    res = {
        "drain_count": n,
        "drain_s": drain_s,
        "drain_rate": n / drain_s,
        "drain_from_spawn_s": t_done - proc.spawned_at,
        "drain_publish_s": pub_s,
        "drain_verified": counts,
    }
    log(f"{kind}: drained {n} in {drain_s:.2f} s = {n / drain_s:.0f} msg/s "
        f"(first consumption {t_first - proc.spawned_at:.2f} s after spawn; "
        f"rabbitmqctl messages/unacked after: {counts})")
    return res, proc


def bench_rpc(kind: str, app, queue: str, args) -> dict:
    """(b) send all, then get all."""
    n = args.rpc_count
    started = time.perf_counter()
    results = [app.send_task("arith.add", (i, 1), queue=queue) for i in range(n)]
    sent = time.perf_counter()
    wrong = 0
    for i, r in enumerate(results):
        if r.get(timeout=args.drain_timeout) != i + 1:
            wrong += 1
    done = time.perf_counter()
    if wrong:
        raise AssertionError(f"{kind}: {wrong} of {n} rpc results wrong")
    res = {"rpc_count": n, "rpc_total_s": done - started, "rpc_send_s": sent - started,
           "rpc_rate": n / (done - started)}
    log(f"{kind}: {n} rpc tasks in {res['rpc_total_s']:.2f} s "
        f"(sending took {res['rpc_send_s']:.2f} s) = {res['rpc_rate']:.0f}/s")
    return res


def bench_latency(kind: str, app, queue: str, args) -> dict:
    """(c) sequential round trips."""
    for i in range(20):  # warm-up: connections, pool processes, caches
        app.send_task("arith.add", (i, 1), queue=queue).get(timeout=30)
    samples = []
    for i in range(args.latency_count):
        t0 = time.perf_counter()
        value = app.send_task("arith.add", (i, 1), queue=queue).get(timeout=30)
        samples.append(time.perf_counter() - t0)
        if value != i + 1:
            raise AssertionError(f"{kind}: round trip {i} returned {value!r}")
    samples.sort()
    res = {"latency_count": len(samples),
           "p50_s": percentile(samples, 50), "p99_s": percentile(samples, 99),
           "mean_s": statistics.fmean(samples)}
    log(f"{kind}: {len(samples)} round trips p50 {res['p50_s'] * 1000:.2f} ms, "
        f"p99 {res['p99_s'] * 1000:.2f} ms")
    return res


def percentile(sorted_samples: list[float], pct: float) -> float:
    k = (len(sorted_samples) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_samples) - 1)
    return sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * (k - lo)


def bench_worker(kind: str, app, broker: Broker, args, logdir: Path) -> dict:
    res: dict = {"kind": kind}
    res.update(bench_startup(kind, app, broker, args, logdir))
    queue = unique(f"bench-{kind}")
    drain, proc = bench_drain(kind, app, broker, args, logdir, queue)
    res.update(drain)
    try:
        res.update(bench_rpc(kind, app, queue, args))
        res.update(bench_latency(kind, app, queue, args))
    finally:
        proc.stop()
        broker.delete(queue)
    res["log_dir"] = str(logdir)
    return res


# ---- the broker ceiling ----------------------------------------------------


def bench_ceiling(app, broker: Broker, args) -> dict:
    queue = unique("bench-ceiling")
    broker.declare(queue)
    n = args.drain_count
    try:
        log(f"ceiling: publishing the same {n} arith.add messages")
        publish_adds(app, queue, n)
        ceiling_bin = Path(args.ceiling_bin)
        if ceiling_bin.is_file() and os.access(ceiling_bin, os.X_OK):
            cmd = [str(ceiling_bin), "--url", args.broker, "--queue", queue, "--count", str(n),
                   "--prefetch", str(args.ceiling_prefetch), "--consume-only"]
            log(f"ceiling: {' '.join(cmd)}")
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            m = CEILING_RE.search(out.stdout + out.stderr)
            if out.returncode == 0 and m:
                return {"ceiling_source": f"{ceiling_bin.relative_to(REPO_ROOT)} (C)",
                        "drain_count": int(m.group(1)), "drain_s": float(m.group(2)),
                        "drain_rate": float(m.group(3)), "prefetch": args.ceiling_prefetch}
            log(f"ceiling: {ceiling_bin} failed (status {out.returncode}): "
                f"{(out.stdout + out.stderr).strip()[-2000:]}; using the py-amqp fallback")
            broker.delete(queue)
            broker.declare(queue)
            publish_adds(app, queue, n)
        else:
            log(f"ceiling: {ceiling_bin} not built yet; using the py-amqp fallback")
        return pyamqp_consume(args, queue, n)
    finally:
        broker.delete(queue)


def pyamqp_consume(args, queue: str, n: int) -> dict:
    """Consume and ack `n` messages one by one with py-amqp, as fast as it can."""
    with Connection(args.broker) as conn:
        conn.connect()
        ch: amqp.Channel = conn.connection.channel()
        ch.basic_qos(0, args.ceiling_prefetch, False)
        state = {"count": 0, "first": None}

        def on_message(msg):
            if state["first"] is None:
                state["first"] = time.perf_counter()
            ch.basic_ack(msg.delivery_tag)
            state["count"] += 1

        ch.basic_consume(queue, callback=on_message)
        deadline = time.monotonic() + args.drain_timeout
        while state["count"] < n and time.monotonic() < deadline:
            try:
                conn.connection.drain_events(timeout=5)
            except socket.timeout:
                break
        if state["count"] < n:
            raise RuntimeError(f"py-amqp ceiling: only {state['count']} of {n} messages arrived")
        elapsed = time.perf_counter() - state["first"]
    log(f"ceiling (py-amqp fallback): {n} msgs in {elapsed:.2f} s = {n / elapsed:.0f} msg/s")
    return {"ceiling_source": "py-amqp fallback (Benchmarks/amqp-ceiling/ceiling not built)",
            "drain_count": n, "drain_s": elapsed, "drain_rate": n / elapsed,
            "prefetch": args.ceiling_prefetch}


# ---- report ----------------------------------------------------------------

NA = "not available"


def fmt(value, kind: str) -> str:
    if value is None:
        return "—"
    return {
        "rate": f"{value:,.0f} msg/s",
        "s": f"{value:.2f} s",
        "ms": f"{value * 1000:.2f} ms",
        "ms0": f"{value * 1000:.0f} ms",
        "mib": f"{value / 2**20:.1f} MiB",
    }[kind]


def ratio(a, b) -> float | None:
    return None if a is None or b in (None, 0) else a / b


def fmt_ratio(r) -> str:
    return "—" if r is None else f"{r:.2f}×"


def verdict(ok) -> str:
    return "—" if ok is None else ("PASS" if ok else "MISS")


def build_rows(results: dict, counts: dict) -> list[dict]:
    pw = results.get("plugworker") or {}
    ce = results.get("celery") or {}
    ceil = results.get("ceiling") or {}

    def g(d, key):
        return d.get(key) if isinstance(d, dict) else None

    rows = []

    def cell(res, value, kind):
        # A worker not measured (not asked for, not built, or failed to start).
        return NA if not res or res.get("error") else fmt(value, kind)

    def row(label, key, kind, ceiling_value=None, target="", check=None, ceiling_check=None):
        p, c = g(pw, key), g(ce, key)
        r_pc = ratio(p, c)
        r_pceil = ratio(p, ceiling_value)
        ok = check(p, c, r_pc) if check and p is not None else None
        rows.append({
            "metric": label,
            "plugworker": cell(pw, p, kind),
            "celery": cell(ce, c, kind),
            "ceiling": fmt(ceiling_value, kind) if ceiling_value is not None else "—",
            "pw/celery": fmt_ratio(r_pc),
            "pw/ceiling": fmt_ratio(r_pceil),
            "target": target,
            "verdict": verdict(ok),
        })

    ceil_rate = g(ceil, "drain_rate")
    row(f"(a) drain {counts['drain']:,}, ignore_result (rate)", "drain_rate", "rate", ceil_rate,
        "≥ 10× celery; ≥ 0.8× ceiling")
    # Two targets, each judged on its own: "celery PASS, ceiling —" etc.
    a = rows[-1]
    p_rate = g(pw, "drain_rate")
    if p_rate is not None:
        r_c, r_ceil = ratio(p_rate, g(ce, "drain_rate")), ratio(p_rate, ceil_rate)
        a["verdict"] = (f"celery {verdict(None if r_c is None else r_c >= 10)}, "
                        f"ceiling {verdict(None if r_ceil is None else r_ceil >= 0.8)}")
    row(f"(a) drain {counts['drain']:,} (time)", "drain_s", "s", g(ceil, "drain_s"))
    row(f"(b) {counts['rpc']:,} rpc: send all, get all (total)", "rpc_total_s", "s")
    row(f"(b) {counts['rpc']:,} rpc (throughput)", "rpc_rate", "rate")
    row(f"(c) {counts['latency']:,} sequential round trips p50", "p50_s", "ms", None, "≤ 0.5× celery",
        lambda p, c, r: r is not None and r <= 0.5)
    row(f"(c) {counts['latency']:,} sequential round trips p99", "p99_s", "ms")
    row("(d) start → ready (median)", "startup_s", "ms0", None, "≤ 50 ms",
        lambda p, c, r: p <= 0.050)
    row("(e) idle RSS, process tree (median)", "idle_rss_bytes", "mib", None, "≤ 0.25× celery",
        lambda p, c, r: r is not None and r <= 0.25)
    return rows


COLUMNS = ["metric", "plugworker", "celery", "ceiling", "pw/celery", "pw/ceiling", "target", "verdict"]


def text_table(rows) -> str:
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in COLUMNS}
    line = "  ".join(c.ljust(widths[c]) for c in COLUMNS)
    out = [line, "  ".join("-" * widths[c] for c in COLUMNS)]
    for r in rows:
        out.append("  ".join(r[c].ljust(widths[c]) for c in COLUMNS))
    return "\n".join(out)


def markdown(rows, results, env) -> str:
    out = ["# plugworker worker benchmark", ""]
    out.append(f"Run {env['date']} on {env['host']} ({env['cpus']} CPUs, load average "
               f"{env['loadavg']} at start), broker {env['broker']}, -c {env['concurrency']}, "
               f"-l {env['loglevel']}; Celery {env['celery']}, Python {env['python']}; "
               f"plugworker binary {env['plugworker_bin']}.")
    out.append("")
    out.append("| " + " | ".join(COLUMNS) + " |")
    out.append("|" + "|".join("---" for _ in COLUMNS) + "|")
    for r in rows:
        out.append("| " + " | ".join(r[c] for c in COLUMNS) + " |")
    out.append("")
    out.extend(notes(results))
    return "\n".join(out) + "\n"


def notes(results) -> list[str]:
    out = []
    for kind in ALL_COLUMNS:
        res = results.get(kind)
        if res is None:
            if kind != "ceiling":
                out.append(f"- **{kind}**: {NA} — not measured (not in --workers).")
            continue
        if res.get("error"):
            out.append(f"- **{kind}**: {NA} — {res['error']}")
        elif kind == "ceiling":
            out.append(f"- **ceiling**: {res['ceiling_source']}, prefetch {res['prefetch']}: "
                       f"{res['drain_count']} msgs in {res['drain_s']:.2f} s.")
        else:
            startups = ", ".join(f"{s * 1000:.0f}" for s in res["startup_runs_s"])
            rss = ", ".join(f"{b / 2**20:.1f}" for b in res["idle_rss_runs_bytes"])
            out.append(
                f"- **{kind}**: start→ready runs {startups} ms; idle RSS runs {rss} MiB "
                f"over {res['idle_processes']} processes (median PSS "
                f"{res['idle_pss_bytes'] / 2**20:.1f} MiB); "
                f"drain publish {res['drain_publish_s']:.1f} s, drain from spawn "
                f"{res['drain_from_spawn_s']:.2f} s, rabbitmqctl (messages, unacked) after "
                f"drain {res['drain_verified']}; rpc send phase {res['rpc_send_s']:.2f} s of "
                f"{res['rpc_total_s']:.2f} s; round-trip mean {res['mean_s'] * 1000:.2f} ms; "
                f"logs in {res['log_dir']}.")
    return out


# ---- main ------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", default="plugworker,celery,ceiling",
                   help="comma-separated columns: plugworker, celery, ceiling (default: all)")
    p.add_argument("--broker", default=harness.broker_url(),
                   help="AMQP URL (default $CELERY_BROKER_URL or the local RabbitMQ)")
    p.add_argument("--concurrency", "-c", type=int, default=2)
    p.add_argument("--drain-count", type=int, default=20_000)
    p.add_argument("--rpc-count", type=int, default=5_000)
    p.add_argument("--latency-count", type=int, default=1_000)
    p.add_argument("--startup-runs", type=int, default=3)
    p.add_argument("--idle-seconds", type=float, default=3.0)
    p.add_argument("--loglevel", default="info",
                   help="worker -l (default info; the ready line is logged at INFO)")
    p.add_argument("--plugworker-bin", metavar="PATH",
                   help="the plugworker binary (default $PLUGWORKER_BIN or .build/debug/plugworker; "
                        "use a release build for real numbers)")
    p.add_argument("--ceiling-bin", default=str(CEILING_BIN))
    p.add_argument("--ceiling-prefetch", type=int, default=8,
                   help="prefetch for the ceiling consumer (default 8 = -c 2 × Celery's "
                        "prefetch multiplier 4)")
    p.add_argument("--ready-timeout", type=float, default=30.0)
    p.add_argument("--drain-timeout", type=float, default=600.0)
    p.add_argument("--markdown", metavar="FILE", help="also write the results as Markdown")
    p.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    p.add_argument("--logdir", metavar="DIR", help="where worker logs go (default: a temp dir)")
    args = p.parse_args(argv)
    args.workers = [w.strip() for w in args.workers.split(",") if w.strip()]
    for w in args.workers:
        if w not in ALL_COLUMNS:
            p.error(f"unknown column {w!r}; expected {', '.join(ALL_COLUMNS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["CELERY_BROKER_URL"] = args.broker
    if args.plugworker_bin:
        os.environ["PLUGWORKER_BIN"] = str(Path(args.plugworker_bin).resolve())
    logdir = Path(args.logdir or f"/tmp/plugworker-bench-{time.strftime('%Y%m%d-%H%M%S')}")
    logdir.mkdir(parents=True, exist_ok=True)
    env = {
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "host": platform.node(), "cpus": os.cpu_count(),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "broker": re.sub(r"//([^:/@]+):[^@]*@", r"//\1:**@", args.broker),
        "concurrency": args.concurrency, "loglevel": args.loglevel,
        "celery": celery.__version__, "python": platform.python_version(),
        "plugworker_bin": str(harness.plugworker_binary()),
    }
    log(f"load average {env['loadavg']} on {env['cpus']} CPUs; worker logs in {logdir}")

    app = Celery("plugworker-bench", broker=args.broker, backend="rpc://")
    app.conf.broker_connection_retry_on_startup = True
    broker = Broker(args.broker)
    results: dict = {}
    try:
        for kind in args.workers:
            if kind == "ceiling":
                results["ceiling"] = bench_ceiling(app, broker, args)
                continue
            try:
                results[kind] = bench_worker(kind, app, broker, args, logdir)
            except (harness.WorkerUnavailable, harness.WorkerNotReady) as exc:
                first = str(exc).strip().splitlines()
                reason = first[0] if first else type(exc).__name__
                detail = str(exc)
                log(f"{kind}: {NA}: {detail[-3000:]}")
                results[kind] = {"error": reason}
    finally:
        broker.close()
        app.close()

    rows = build_rows(results, {"drain": args.drain_count, "rpc": args.rpc_count,
                                "latency": args.latency_count})
    print()
    print(text_table(rows))
    print()
    for n in notes(results):
        print(n)
    if args.markdown:
        Path(args.markdown).write_text(markdown(rows, results, env))
        log(f"wrote {args.markdown}")
    if args.json:
        Path(args.json).write_text(json.dumps({"env": env, "results": results}, indent=2,
                                              default=str))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
