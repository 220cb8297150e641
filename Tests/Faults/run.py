#!/usr/bin/env python3
"""Fault injection against a real RabbitMQ: one command, every scenario under
a steady load of `arith.add` and `arith.sleep` tasks, each task counted by id.

    .venv/bin/python Tests/Faults/run.py                 # every scenario
    .venv/bin/python Tests/Faults/run.py -k pool -k term # some of them
    .venv/bin/python Tests/Faults/run.py --json out.json --keep

The broker is a private RabbitMQ node (private_broker.py: its own ports,
data and cookie), never the shared one on 5672. Each scenario gets its own
durable queue and a fresh plugworker (`--acks-late --reject-on-worker-lost`,
`-c 4`) loading a private copy of the arith plugin; a publisher thread sends
persistent protocol-2 task messages with publisher confirms.

Counting, per scenario:

- sent: publishes the broker confirmed (basic.ack in confirm mode). A publish
  cut off before its confirm is "unconfirmed", counted apart (it may or may
  not have reached the queue);
- completed: sent ids the worker logged as `Task NAME[ID] succeeded`, in the
  logs of every worker process of the scenario (across restarts); results
  are not used (rpc:// results die with a broker restart);
- failed: sent ids the worker logged as failed: only the poison scenario's
  arith.crash tasks may (WorkerLostError after a second pool-process death
  of a redelivered message); elsewhere a failure fails the scenario;
- lost: sent ids with no success and no failure logged: must be 0;
- duplicated: ids that succeeded more than once; each is explained from the
  log: its first success came before a fault that cost it its late ack (the
  connection or the process went), and the broker redelivered it.

Exit status 0 when no scenario lost a task, every duplicate is explained and
every scenario's own checks passed; 1 otherwise; 2 when the suite cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "Tests" / "Integration"))

import harness  # noqa: E402
import private_broker  # noqa: E402

CONCURRENCY = 4
LOAD_SECONDS = 12.0
ADD_PER_SECOND = 20
SLEEP_PER_SECOND = 5
SLEEP_SECONDS = 0.5
DRAIN_TIMEOUT = 60.0

# [2026-12-04 19:01:02,123: INFO/MainProcess] Task arith.add[<id>] succeeded in 0.0001s: 5
LOG_TIME_RE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}):")
SUCCEEDED_RE = re.compile(r"Task (arith\.\w+)\[([0-9a-f-]{36})\] succeeded in")
FAILED_RES = (re.compile(r"Task (arith\.\w+)\[([0-9a-f-]{36})\] raised unexpected"),
              re.compile(r"Task handler raised error: .*\(task (arith\.\w+)\[([0-9a-f-]{36})\]"))
REQUEUED_RE = re.compile(r"Task (arith\.\w+)\[([0-9a-f-]{36})\]: pool process \d+ died; requeued once")


def log(msg: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---- the load --------------------------------------------------------------


class Publisher(threading.Thread):
    """Publishes arith.add and arith.sleep task messages (protocol 2,
    persistent, to a durable queue) at a steady rate, with publisher
    confirms; reconnects when the broker goes away."""

    def __init__(self, port: int, queue: str):
        super().__init__(name=f"publisher-{queue}", daemon=True)
        self.port = port
        self.queue = queue
        self.confirmed: dict[str, str] = {}   # id -> task name
        self.unconfirmed: dict[str, str] = {}
        self.errors = 0
        self.extra: list[tuple[str, list]] = []  # sent next, before the steady load
        self._halt = threading.Event()
        self._conn = None
        self._ch = None

    def stop(self) -> None:
        self._halt.set()
        self.join(30)
        self._close()

    def _connect(self) -> None:
        import amqp
        conn = amqp.Connection(host=f"localhost:{self.port}", userid="guest", password="guest",
                               connect_timeout=3, read_timeout=5, write_timeout=5)
        conn.connect()
        ch = conn.channel()
        # As kombu declares a Celery queue (and as the worker does).
        ch.exchange_declare(self.queue, "direct", durable=True, auto_delete=False)
        ch.queue_declare(self.queue, durable=True, exclusive=False, auto_delete=False)
        ch.queue_bind(self.queue, self.queue, self.queue)
        ch.confirm_select()
        self._conn, self._ch = conn, ch

    def _close(self) -> None:
        try:
            if self._conn is not None:
                self._conn.collect()
        except Exception:
            pass
        self._conn = self._ch = None

    @staticmethod
    def message(name: str, task_id: str, args: list):
        import amqp
        headers = {
            "lang": "py", "task": name, "id": task_id, "shadow": None, "eta": None,
            "expires": None, "group": None, "group_index": None, "retries": 0,
            "timelimit": [None, None], "root_id": task_id, "parent_id": None,
            "argsrepr": repr(tuple(args)), "kwargsrepr": "{}", "origin": "faults@localhost",
            "ignore_result": True,
        }
        body = json.dumps([args, {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
        return amqp.Message(body, application_headers=headers, content_type="application/json",
                            content_encoding="utf-8", correlation_id=task_id, delivery_mode=2, priority=0)

    def run(self) -> None:
        period = 1.0 / (ADD_PER_SECOND + SLEEP_PER_SECOND)
        every_sleep = max(1, round((ADD_PER_SECOND + SLEEP_PER_SECOND) / SLEEP_PER_SECOND))
        n = 0
        next_at = time.monotonic()
        while not self._halt.is_set():
            if self._ch is None:
                try:
                    self._connect()
                except Exception:
                    self.errors += 1
                    self._close()
                    self._halt.wait(0.5)
                    continue
            n += 1
            if self.extra:
                name, args = self.extra.pop(0)
            elif n % every_sleep == 0:
                name, args = "arith.sleep", [SLEEP_SECONDS]
            else:
                name, args = "arith.add", [n, 1]
            task_id = str(uuid.uuid4())
            try:
                self._ch.basic_publish(self.message(name, task_id, args), exchange=self.queue,
                                       routing_key=self.queue, confirm_timeout=5)
                self.confirmed[task_id] = name
            except Exception:
                self.unconfirmed[task_id] = name
                self.errors += 1
                self._close()
                self._halt.wait(0.5)
                continue
            next_at += period
            delay = next_at - time.monotonic()
            if delay > 0:
                self._halt.wait(delay)
            else:
                next_at = time.monotonic()


# ---- workers ---------------------------------------------------------------


class Workers:
    """The worker processes of one scenario (a restart starts another), with
    their logs."""

    def __init__(self, run_dir: Path, scenario: str, broker: private_broker.PrivateBroker,
                 queue: str, plugin_dir: Path, extra_args=()):
        self.run_dir = run_dir
        self.scenario = scenario
        self.broker = broker
        self.queue = queue
        self.plugin_dir = plugin_dir
        self.extra_args = list(extra_args)
        self.procs: list[harness.WorkerProcess] = []

    @property
    def current(self) -> harness.WorkerProcess:
        return self.procs[-1]

    def start(self, wait: bool = True) -> harness.WorkerProcess:
        name = f"faults-{self.scenario}-{len(self.procs) + 1}-{uuid.uuid4().hex[:6]}"
        env = dict(os.environ)
        env["CELERY_BROKER_URL"] = self.broker.url
        proc = harness.WorkerProcess("plugworker", name=name, queue=self.queue, concurrency=CONCURRENCY,
                                     log_path=self.run_dir / f"{name}.log", env=env)
        proc.cmd = [str(harness.plugworker_binary()), "--plugins", str(self.plugin_dir),
                    "-c", str(CONCURRENCY), "-n", f"{name}@%h", "-l", "info", "-Q", self.queue,
                    "--acks-late", "--reject-on-worker-lost", *self.extra_args]
        self.procs.append(proc)
        proc.start()
        if wait:
            proc.wait_ready(30)
        return proc

    def stop_all(self) -> None:
        for p in self.procs:
            p.stop()

    def text(self) -> str:
        return "".join(p.log_text() for p in self.procs)


# ---- counting ----------------------------------------------------------------


def parse_time(line: str) -> float | None:
    m = LOG_TIME_RE.match(line)
    if not m:
        return None
    return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(m.group(2)) / 1000


@dataclass
class Outcome:
    succeeded: dict[str, list[float]] = field(default_factory=dict)  # id -> times
    failed: dict[str, list[float]] = field(default_factory=dict)
    requeued: dict[str, int] = field(default_factory=dict)


def outcomes(text: str) -> Outcome:
    o = Outcome()
    for line in text.splitlines():
        m = SUCCEEDED_RE.search(line)
        if m:
            o.succeeded.setdefault(m.group(2), []).append(parse_time(line) or 0.0)
            continue
        m = REQUEUED_RE.search(line)
        if m:
            o.requeued[m.group(2)] = o.requeued.get(m.group(2), 0) + 1
            continue
        for rx in FAILED_RES:
            m = rx.search(line)
            if m:
                o.failed.setdefault(m.group(2), []).append(parse_time(line) or 0.0)
                break
    return o


@dataclass
class Result:
    name: str
    injected: str
    sent: int = 0
    unconfirmed: int = 0
    unconfirmed_ran: int = 0
    completed: int = 0
    failed: int = 0
    lost: int = 0
    duplicated: int = 0
    explained: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    logs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and not self.unexplained and not self.problems


class Scenario:
    """One run: start the worker, the load, inject the fault at the given
    times, stop the load, drain, count."""

    name = "?"
    injected = "?"
    fault_times = (4.0,)
    extra_args: tuple = ()
    expect_failures = False  # a failed task is a problem, except where the scenario sends failing ones

    def __init__(self, run_dir: Path, broker: private_broker.PrivateBroker):
        self.run_dir = run_dir
        self.broker = broker
        self.queue = f"faults-{self.name}-{uuid.uuid4().hex[:8]}"
        self.plugin_dir = run_dir / f"plugins-{self.name}"
        self.plugin_dir.mkdir(mode=0o755)
        shutil.copy2(REPO / "Plugins" / "libarith.so", self.plugin_dir / "libarith.so")
        self.workers = Workers(run_dir, self.name, broker, self.queue, self.plugin_dir, self.extra_args)
        self.faults: list[tuple[float, str]] = []  # (wall time, what)
        self.result = Result(self.name, self.injected)

    def fault(self, what: str) -> None:
        self.faults.append((time.time(), what))
        log(f"{self.name}: {what}")

    def inject(self, index: int) -> None:
        raise NotImplementedError

    def after_load(self) -> None:
        """Called after the load stopped, before draining."""

    def drain_worker(self) -> harness.WorkerProcess:
        return self.workers.current

    def explain(self, task_id: str, logs: list[str]) -> str | None:
        """Why a task ran twice, from the logs: its first success was logged
        by a worker whose connection (or whole process) went before the late
        ack reached the broker, and the broker redelivered it."""
        runs = []  # (worker number, line number, time, kind)
        for w, text in enumerate(logs):
            for n, line in enumerate(text.splitlines()):
                if task_id in line:
                    kind = "ok" if SUCCEEDED_RE.search(line) else "recv" if " received" in line else None
                    if kind:
                        runs.append((w, n, parse_time(line), kind))
        oks = [r for r in runs if r[3] == "ok"]
        if len(oks) < 2:
            return None
        (w1, n1, t1, _), (w2, n2, t2, _) = oks[0], oks[1]
        recv2 = next((r for r in runs if r[3] == "recv" and (r[0], r[1]) > (w1, n1)), None)
        if w1 != w2:
            fault = self.fault_between(t1, t2)
            return (f"{task_id}: succeeded at {fmt(t1)} in worker #{w1 + 1}; '{fault}' ended that worker before "
                    f"its late ack was sent; the broker redelivered it to worker #{w2 + 1}, where it ran again at {fmt(t2)}")
        lines = logs[w1].splitlines()
        recv1 = next((r for r in runs if r[3] == "recv" and (r[0], r[1]) < (w1, n1)), None)
        start = recv1[1] if recv1 else 0
        end = recv2[1] if recv2 and recv2[0] == w1 else n2
        for n in range(start, end):
            if "Connection to broker lost" in lines[n]:
                tl = parse_time(lines[n])
                when = "while it ran" if n < n1 else "before its late ack was sent"
                return (f"{task_id}: received at {fmt(recv1[2]) if recv1 else '?'}; the connection was lost at "
                        f"{fmt(tl)} ({self.fault_between(tl - 10, tl + 1)}) {when}; it succeeded at {fmt(t1)} but its "
                        f"ack could not go on the dead connection; redelivered, it ran again at {fmt(t2)}")
        return None

    def fault_between(self, a: float, b: float) -> str:
        for t, what in self.faults:
            if a - 5 <= t <= b:
                return what
        return "a fault"

    def run(self) -> Result:
        started = time.monotonic()
        r = self.result
        publisher = Publisher(self.broker.port, self.queue)
        self.publisher = publisher
        try:
            self.workers.start()
            publisher.start()
            t0 = time.monotonic()
            for i, at in enumerate(self.fault_times):
                delay = t0 + at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.inject(i)
            delay = t0 + LOAD_SECONDS - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            publisher.stop()
            self.after_load()
            self.drain(publisher)
        except Exception as exc:  # a scenario that breaks still reports, after a drain
            r.problems.append(f"scenario error: {type(exc).__name__}: {exc}")
            publisher.stop()
            try:
                if self.workers.procs and not self.workers.current.alive():
                    self.workers.start()
                self.drain(publisher)
            except Exception as exc2:
                r.problems.append(f"drain after the error failed: {type(exc2).__name__}: {exc2}")
        finally:
            self.workers.stop_all()
            text = self.workers.text()
            r.logs = [str(p.log_path) for p in self.workers.procs]
        self.count(publisher, text)
        self.check(text)
        r.seconds = time.monotonic() - started
        return r

    def drain(self, publisher: Publisher) -> None:
        """Waits until every confirmed task has an outcome and the queue is empty."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while time.monotonic() < deadline:
            o = outcomes(self.workers.text())
            done = all(i in o.succeeded or i in o.failed for i in publisher.confirmed)
            if done and self.broker.queue_depth(self.queue) == (0, 0):
                return
            time.sleep(1)
        self.result.problems.append(f"not drained within {DRAIN_TIMEOUT:g} s")

    def count(self, publisher: Publisher, text: str) -> None:
        r = self.result
        o = outcomes(text)
        sent = publisher.confirmed
        r.sent = len(sent)
        r.unconfirmed = len(publisher.unconfirmed)
        r.unconfirmed_ran = sum(1 for i in publisher.unconfirmed if i in o.succeeded)
        r.completed = sum(1 for i in sent if i in o.succeeded)
        r.failed = sum(1 for i in sent if i not in o.succeeded and i in o.failed)
        if r.failed and not self.expect_failures:
            r.problems.append(f"{r.failed} tasks failed: " + ", ".join(
                f"{sent[i]}[{i}]" for i in list(sent) if i not in o.succeeded and i in o.failed)[:400])
        lost = [i for i in sent if i not in o.succeeded and i not in o.failed]
        r.lost = len(lost)
        for i in lost[:10]:
            r.problems.append(f"lost: {sent[i]}[{i}]")
        stray = [i for i in o.succeeded if i not in sent and i not in publisher.unconfirmed]
        if stray:
            r.problems.append(f"{len(stray)} succeeded ids were never sent by this scenario")
        logs = [p.log_text() for p in self.workers.procs]
        for i, times in o.succeeded.items():
            if len(times) > 1:
                r.duplicated += 1
                why = self.explain(i, logs)
                (r.explained if why else r.unexplained).append(why or f"{i}: ran {len(times)} times, no fault in between")
        if r.unconfirmed:
            r.notes.append(f"{r.unconfirmed} publishes cut off before their confirm (not counted as sent); "
                           f"{r.unconfirmed_ran} of them reached the queue and ran")
        if o.requeued and not isinstance(self, (PoolKill, PoisonMessage)):
            r.notes.append(f"{len(o.requeued)} tasks requeued by reject_on_worker_lost")

    def check(self, text: str) -> None:
        """Scenario-specific checks of the log."""


def fmt(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3]


# ---- the scenarios -------------------------------------------------------------


def pool_pids(master: int) -> list[int]:
    """The pool processes: the master's descendants except the zygote
    (the zygote is the master's direct child; pool processes are its children)."""
    tree = harness.process_tree(master)
    kids = [p for p in tree if p != master and _ppid(p) != master]
    return kids


def _ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[1])
    except (OSError, ValueError):
        return -1


def control(port: int, call, attempts: int = 3):
    """A remote-control call through a stock Celery client, on a connection
    of its own: without one, Celery takes it from kombu's process-wide pool,
    where a connection from an earlier scenario may be one a broker restart
    has since closed (ConnectionResetError on the first write). None if it
    keeps failing."""
    from celery import Celery
    for attempt in range(attempts):
        app = Celery("faults", broker=f"amqp://guest:guest@127.0.0.1:{port}//")
        conn = app.connection_for_write()
        try:
            return call(app, conn)
        except Exception as exc:
            import traceback
            where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                for f in reversed(traceback.extract_tb(exc.__traceback__)[-4:]))
            log(f"control call failed ({type(exc).__name__}: {exc} at {where}); attempt {attempt + 1} of {attempts}")
            time.sleep(0.5)
        finally:
            conn.release()
            app.close()
    return None


def busy_pool_pid(node: str, port: int, task: str = "arith.sleep") -> tuple[int, str] | None:
    """(pid, task id) of a pool process running `task` (not a redelivery),
    from `inspect active`."""
    active = control(port, lambda app, conn: app.control.inspect(destination=[node], timeout=1.5, connection=conn).active()) or {}
    # The one that started last: it has the longest to run, so it is still
    # running when the kill arrives.
    candidates = sorted((req for req in active.get(node, [])
                         if req.get("name") == task and req.get("worker_pid")
                         and not (req.get("delivery_info") or {}).get("redelivered")),
                        key=lambda req: req.get("time_start") or 0, reverse=True)
    if candidates:
        return int(candidates[0]["worker_pid"]), candidates[0]["id"]
    return None


class PoolKill(Scenario):
    name = "pool-kill"
    injected = "kill -9 of a pool process running arith.sleep (3 times, 3 s apart), found with `inspect active`"
    fault_times = (3.0, 6.0, 9.0)

    def inject(self, index):
        w = self.workers.current
        found = None
        for _ in range(10):
            found = busy_pool_pid(w.node, self.broker.port)
            if found:
                break
            time.sleep(0.2)
        if found is None:
            pids = pool_pids(w.proc.pid)
            if not pids:
                self.result.problems.append("no pool process to kill")
                return
            found = (random.choice(pids), "?")
        pid, task_id = found
        self.fault(f"kill -9 pool process {pid} (running {task_id})")
        os.kill(pid, signal.SIGKILL)

    def check(self, text):
        kills = sum(1 for _, what in self.faults if what.startswith("kill"))
        # "Process 'ForkPoolWorker-3' pid:123 exited on signal 9 (SIGKILL) — perhaps out of memory? while running arith.sleep[id]"
        mid_task = set(re.findall(r"signal 9 \(SIGKILL\).*? while running arith\.\w+\[([0-9a-f-]{36})\]", text))
        requeued = set(m.group(2) for m in REQUEUED_RE.finditer(text))
        self.result.notes.append(f"{kills} pool processes killed, {len(mid_task)} of them mid-task; those "
                                 f"{len(requeued)} tasks were requeued (reject_on_worker_lost) and ran again "
                                 f"elsewhere" + ("" if len(mid_task) == kills else
                                                 f"; {kills - len(mid_task)} had just finished its task"))
        if mid_task != requeued:
            self.result.problems.append(f"killed mid-task: {sorted(mid_task)}, requeued: {sorted(requeued)}")
        if not mid_task:
            self.result.problems.append("no pool process was killed mid-task")


class PoisonMessage(Scenario):
    name = "poison"
    injected = ("5 `arith.crash` tasks (SIGSEGV in the pool process) among the load, 2 s apart: "
                "the poison-message guard")
    fault_times = (2.0, 4.0, 6.0, 8.0, 10.0)
    expect_failures = True

    def inject(self, index):
        self.publisher.extra.append(("arith.crash", []))
        self.fault("sent arith.crash")

    def count(self, publisher, text):
        super().count(publisher, text)
        r = self.result
        crash_ids = {i for i, name in publisher.confirmed.items() if name == "arith.crash"}
        o = outcomes(text)
        failed_crash = {i for i in crash_ids if i in o.failed}
        requeued_crash = {i for i in crash_ids if o.requeued.get(i) == 1}
        other_failed = {i for i in o.failed if i not in crash_ids}
        r.notes.append(f"{len(crash_ids)} arith.crash tasks: each requeued once (reject_on_worker_lost, first "
                       f"delivery), then, redelivered, failed with WorkerLostError and acknowledged "
                       f"({len(requeued_crash)} requeued, {len(failed_crash)} failed); the failed column is them")
        if failed_crash != crash_ids or requeued_crash != crash_ids:
            r.problems.append(f"crash tasks: sent {len(crash_ids)}, requeued once {len(requeued_crash)}, "
                              f"failed {len(failed_crash)}")
        if other_failed:
            r.problems.append(f"{len(other_failed)} other tasks failed")
        if "not restarting them" in text:
            r.problems.append("the restart cap engaged")


class MasterKill(Scenario):
    name = "master-kill"
    injected = "kill -9 of the master (its zygote and pool die with it), a new worker started 2 s later"
    fault_times = (4.0,)

    def inject(self, index):
        w = self.workers.current
        self.fault(f"kill -9 master {w.proc.pid}")
        os.kill(w.proc.pid, signal.SIGKILL)
        w.proc.wait(10)
        time.sleep(2)
        orphans = [p for p in harness.process_tree(w.proc.pid) if p != w.proc.pid]
        if orphans:
            self.result.problems.append(f"pool processes outlived the master: {orphans}")
        self.workers.start()

    def check(self, text):
        self.result.notes.append("the broker requeued every unacknowledged message when the master's "
                                 "connection closed; the new worker ran them")


class BrokerRestart(Scenario):
    name = "broker-restart"
    injected = "`rabbitmqctl stop_app`, 3 s down, `start_app` (every connection dropped)"
    fault_times = (4.0,)

    def inject(self, index):
        self.fault("rabbitmqctl stop_app")
        self.broker.stop_app()
        time.sleep(3)
        self.broker.start_app()
        log(f"{self.name}: start_app done")

    def check(self, text):
        if "Connected to" not in text.split("Connection to broker lost", 1)[-1]:
            self.result.problems.append("no reconnection logged after the restart")
        self.result.notes.append("the worker reconnected with backoff; durable queue and persistent "
                                 "messages survived the restart")


class ConnectionCut(Scenario):
    name = "connection-cut"
    injected = "`rabbitmqctl close_connection` of the worker's connection (twice, 4 s apart)"
    fault_times = (3.0, 7.0)

    def inject(self, index):
        w = self.workers.current
        n = self.broker.close_connections(f"plugworker {w.node}")
        self.fault(f"close_connection ({n} connection{'s' if n != 1 else ''})")
        if n == 0:
            self.result.problems.append("no worker connection found to close")

    def check(self, text):
        lost = text.count("Connection to broker lost")
        if lost < len(self.fault_times):
            self.result.problems.append(f"{len(self.fault_times)} cuts but {lost} reconnections logged")
        self.result.notes.append(f"{lost} connection losses, each followed by a reconnect")


class WarmShutdown(Scenario):
    name = "sigterm"
    injected = "SIGTERM under load (warm shutdown), a new worker started 1 s after it exited"
    fault_times = (4.0,)

    def inject(self, index):
        w = self.workers.current
        self.fault(f"SIGTERM master {w.proc.pid}")
        w.proc.send_signal(signal.SIGTERM)
        try:
            status = w.proc.wait(70)
        except subprocess.TimeoutExpired:
            self.result.problems.append("no exit within 70 s of SIGTERM")
            return
        if status != 0:
            self.result.problems.append(f"warm shutdown exited with status {status}")
        self.exited = time.time()
        time.sleep(1)
        self.workers.start()

    def check(self, text):
        first = self.workers.procs[0].log_text()
        m = re.search(r"Gave back (\d+) unstarted", first)
        received = set(re.findall(r"\[([0-9a-f-]{36})\] received", first))
        done = set(m2.group(2) for m2 in SUCCEEDED_RE.finditer(first))
        running_at_term = len(set(re.findall(r"\[([0-9a-f-]{36})\] succeeded", first.split("Warm shutdown", 1)[-1])))
        self.result.notes.append(
            f"warm shutdown: {running_at_term} running tasks finished before exit 0; "
            f"{m.group(1) if m else 0} unstarted messages given back (basic.reject requeue), "
            f"{len(received - done)} received but never started (requeued by the broker when the connection "
            f"closed); the next worker ran them")


class InitCrash(Scenario):
    name = "init-crash"
    injected = ("hot-add of a plugin whose worker_process_init aborts in every pool process; "
                "removed 6 s later (the fix)")
    fault_times = (3.0, 9.0)

    def __init__(self, run_dir, broker):
        self.metrics_port = private_broker.free_port()
        self.extra_args = ("--metrics-port", str(self.metrics_port))
        super().__init__(run_dir, broker)
        self.lib = run_dir / "libinitcrash.so"
        subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-O2", "-shared", "-fPIC", "-fvisibility=hidden",
                        "-I", str(REPO / "Sources" / "CPlugworker" / "include"), "-o", str(self.lib),
                        str(HERE / "plugins" / "initcrash.c")], check=True)
        self.health: dict = {}

    def healthz(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/healthz", timeout=3) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def inject(self, index):
        w = self.workers.current
        target = self.plugin_dir / "libinitcrash.so"
        if index == 0:
            tmp = self.plugin_dir / ".initcrash.tmp"
            shutil.copy2(self.lib, tmp)
            os.rename(tmp, target)
            self.fault("added libinitcrash.so")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and "not restarting them" not in w.log_text():
                time.sleep(0.2)
            self.health["halted"] = self.healthz()
            self.health["alive_while_halted"] = w.alive()
            self.health["ping"] = control(self.broker.port, lambda app, conn: app.control.ping(destination=[w.node], timeout=3, connection=conn))
        else:
            target.unlink()
            self.fault("removed libinitcrash.so")

    def check(self, text):
        r = self.result
        halted = [l for l in text.splitlines() if "not restarting them" in l]
        if not halted:
            r.problems.append("the restart cap never engaged")
        else:
            r.notes.append("restart cap engaged: " + halted[0].split("]", 1)[-1].strip()[:160])
        if not self.health.get("alive_while_halted"):
            r.problems.append("the master was not alive while the pool was halted")
        status, body = self.health.get("halted", (0, {}))
        r.notes.append(f"/healthz while halted: {status} {json.dumps(body.get('pool', {}))}")
        ping = self.health.get("ping")
        r.notes.append(f"control ping while halted: {ping}")
        if not ping:
            r.problems.append("no answer to a control ping while the pool was halted")
        if status != 503:
            r.problems.append(f"/healthz answered {status} while the pool was halted (expected 503)")
        r.notes.append("after the plugin was removed the pool was recycled, the halt lifted, the backlog ran")


class PluginReplace(Scenario):
    name = "plugin-replace"
    injected = "libarith.so replaced under load by other builds (-O0, -O1, -O2; rename over it, 3 times)"
    fault_times = (3.0, 6.0, 9.0)

    def __init__(self, run_dir, broker):
        super().__init__(run_dir, broker)
        self.builds = []
        for opt in ("-O0", "-O1", "-O2"):
            out = run_dir / f"libarith{opt}.so"
            subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", opt, "-shared", "-fPIC", "-fvisibility=hidden",
                            f"-DPW_FAULTS_BUILD={opt[2]}", "-I", str(REPO / "Sources" / "CPlugworker" / "include"),
                            "-o", str(out), str(REPO / "Plugins" / "arith.c")], check=True)
            self.builds.append(out)

    def inject(self, index):
        build = self.builds[index % len(self.builds)]
        tmp = self.plugin_dir / ".arith.tmp"
        shutil.copy2(build, tmp)
        os.rename(tmp, self.plugin_dir / "libarith.so")
        self.fault(f"replaced libarith.so by {build.name}")

    def check(self, text):
        replaced = len(re.findall(r"replac", text))
        self.result.notes.append(f"{len(self.fault_times)} replacements; each recycled the pool "
                                 f"(in-flight tasks finished on the old build)")
        if replaced == 0:
            self.result.problems.append("no replacement logged")


SCENARIOS = [PoolKill, PoisonMessage, MasterKill, BrokerRestart, ConnectionCut, WarmShutdown, InitCrash, PluginReplace]


# ---- main -----------------------------------------------------------------------


def table(results: list[Result]) -> str:
    head = f"{'scenario':16} {'sent':>5} {'completed':>9} {'failed':>6} {'lost':>4} {'dup':>4} {'unconf':>6} {'secs':>5}  result"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r.name:16} {r.sent:5d} {r.completed:9d} {r.failed:6d} {r.lost:4d} {r.duplicated:4d} "
                     f"{r.unconfirmed:6d} {r.seconds:5.0f}  {'ok' if r.ok else 'FAILED'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", action="append", default=[], help="run scenarios whose name contains this (repeatable)")
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--keep", action="store_true", help="keep the logs and the broker's directory")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args(argv)

    chosen = [s for s in SCENARIOS if not args.k or any(k in s.name for k in args.k)]
    if args.list:
        for s in chosen:
            print(f"{s.name:16} {s.injected}")
        return 0
    why = private_broker.unavailable()
    binary = harness.plugworker_binary()
    if why or not binary.exists() or not (REPO / "Plugins" / "libarith.so").exists():
        print(f"faults: cannot run: {why or 'plugworker or Plugins/libarith.so not built (make -C Plugins && swift build)'}")
        return 2

    run_dir = Path(tempfile.mkdtemp(prefix="pwfaults-run-"))
    run_dir.chmod(0o755)
    log(f"logs in {run_dir}")
    started = time.monotonic()
    broker = private_broker.PrivateBroker(keep=args.keep)
    try:
        broker.start()
    except private_broker.BrokerError as exc:
        print(f"faults: cannot start a private RabbitMQ: {exc}")
        return 2
    log(f"private RabbitMQ {broker.node} on port {broker.port} (up in {time.monotonic() - started:.0f} s)")
    results = []
    try:
        for cls in chosen:
            log(f"--- {cls.name}: {cls.injected}")
            scenario = cls(run_dir, broker)
            r = scenario.run()
            results.append(r)
            log(f"{r.name}: sent {r.sent}, completed {r.completed}, failed {r.failed}, lost {r.lost}, "
                f"duplicated {r.duplicated} ({'ok' if r.ok else 'FAILED'}) in {r.seconds:.0f} s")
            try:
                broker.ctl("delete_queue", scenario.queue)
            except private_broker.BrokerError:
                pass
    finally:
        broker.stop()

    print()
    print(table(results))
    print()
    for r in results:
        print(f"{r.name}: {r.injected}")
        for n in r.notes:
            print(f"    note: {n}")
        for e in r.explained:
            print(f"    duplicate: {e}")
        for e in r.unexplained:
            print(f"    UNEXPLAINED duplicate: {e}")
        for p in r.problems:
            print(f"    PROBLEM: {p}")
        if not r.ok:
            print(f"    logs: {' '.join(r.logs)}")
    total = time.monotonic() - started
    ok = all(r.ok for r in results)
    print(f"\nfaults: {'OK' if ok else 'FAILED'}: {len(results)} scenarios, "
          f"{sum(r.sent for r in results)} tasks sent, {sum(r.lost for r in results)} lost, "
          f"{sum(r.duplicated for r in results)} duplicated, in {total:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "date": datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.uname().nodename} {os.uname().machine}, {os.cpu_count()} CPUs",
            "seconds": round(total),
            "results": [{k: v for k, v in r.__dict__.items() if k != "logs"} for r in results],
        }, indent=2))
    if ok and not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
