"""Remote control through the stock `celery` CLI (celery-wire §5).

A worker of the session's kind (plugworker, or the Python stand-in with
PLUGWORKER_TEST_WORKER=celery) runs for this module with ``-c 1 -E`` on a
queue of its own; every command goes through
``celery -A cli_app -b <broker> inspect|control <command> ... -d <node> --json``
and the reply is checked against the shapes Celery's own worker gives. A few
commands also go through ``plugworker inspect|control``. ``shutdown`` runs
last, on a worker of its own.

Where plugworker and Celery 5.7 answer differently, the test says so
(``DIFFERENCES`` below and Tests/Integration/README.md).
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest
from billiard.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.exceptions import TaskRevokedError

import celery_cli
import harness
from celery_cli import control, inspect

TIMEOUT = 15  # seconds for a task result

# Documented differences between the two workers (checked below):
DIFFERENCES = {
    # Celery 5.7's prefork pool answers "pool will grow/shrink" but its
    # stats.pool.processes keeps the same length; plugworker really grows
    # and shrinks (and max-concurrency follows).
    "pool_grow": "celery: stats.pool.processes unchanged",
    # Celery 5.7 started with -E answers "already enabled" and "already
    # disabled" (its dispatcher has no event groups to toggle) and keeps
    # sending task events; plugworker switches them off and on.
    "enable_events": "celery: texts say 'already', events stay on",
    # Celery 5.7 answers "time limits set successfully" but its prefork
    # worker keeps the limits it started with (create_request_cls captures
    # task.time_limit once); plugworker applies them to the next tasks.
    "time_limit": "celery: limits unchanged",
}


@pytest.fixture(scope="module")
def ctl(worker_kind, app, tmp_path_factory):
    """The module's worker: -c 1 (so a second task waits as 'reserved'), -E."""
    with celery_cli.running_worker(worker_kind, app, tmp_path_factory.getbasetemp(), concurrency=1,
                                   extra_args=["-E"]) as proc:
        yield proc


@pytest.fixture(autouse=True)
def _attach_ctl_log(request, report_file):
    if "ctl" in request.fixturenames:
        proc = request.getfixturevalue("ctl")
        report_file(f"control worker log ({proc.kind} {proc.node})", proc.log_path)


@pytest.fixture
def send_ctl(app, ctl):
    def _send(name, args=(), kwargs=None, **options):
        options.setdefault("queue", ctl.queue)
        return app.send_task(name, args=list(args), kwargs=kwargs or {}, **options)
    return _send


def task_name(entry: str) -> str:
    """`registered` items: "arith.add" or "arith.add [rate_limit=10/m]"."""
    return entry.split(" [", 1)[0]


REQUEST_INFO_KEYS = {"id", "name", "args", "kwargs", "type", "hostname", "time_start", "acknowledged",
                     "delivery_info", "worker_pid"}


def check_request_info(info: dict, *, task_id: str, name: str, args: list, node: str, started: bool):
    missing = REQUEST_INFO_KEYS - set(info)
    assert not missing, f"request info lacks {sorted(missing)}: {info}"
    assert info["id"] == task_id
    assert info["name"] == name and info["type"] == name
    assert info["args"] == args and info["kwargs"] == {}
    assert info["hostname"] == node
    assert isinstance(info["delivery_info"], dict) and "routing_key" in info["delivery_info"]
    if started:
        assert isinstance(info["worker_pid"], int) and info["worker_pid"] > 0, info
        assert isinstance(info["time_start"], (int, float)), info
        assert abs(info["time_start"] - time.time()) < 120, info
    else:
        assert info["worker_pid"] is None and info["time_start"] is None, info


# ---- questions --------------------------------------------------------------


def test_ping(ctl):
    assert inspect("ping", node=ctl.node) == {"ok": "pong"}


def test_registered_lists_the_plugin_tasks(ctl):
    tasks = inspect("registered", node=ctl.node)
    assert isinstance(tasks, list) and all(isinstance(t, str) for t in tasks), tasks
    names = [task_name(t) for t in tasks]
    assert names == sorted(names)
    for expected in ("arith.add", "arith.div", "arith.sleep", "text.upper", "text.wordcount"):
        assert expected in names
    assert not any(n.startswith("celery.") for n in names), names


def test_stats_shape(ctl, send_ctl):
    assert send_ctl("arith.add", (1, 2)).get(timeout=TIMEOUT) == 3
    stats = inspect("stats", node=ctl.node)
    for key in ("total", "pid", "clock", "uptime", "pool", "broker", "prefetch_count", "rusage"):
        assert key in stats, f"stats lacks {key!r}: {sorted(stats)}"
    assert stats["total"].get("arith.add", 0) >= 1, stats["total"]
    assert isinstance(stats["pid"], int) and stats["pid"] > 0
    assert isinstance(stats["clock"], str) and stats["clock"].isdigit()  # a string, as Python sends it
    assert isinstance(stats["uptime"], int) and stats["uptime"] >= 0
    pool = stats["pool"]
    assert pool["max-concurrency"] == 1
    assert isinstance(pool["processes"], list) and len(pool["processes"]) == 1
    assert all(isinstance(p, int) for p in pool["processes"])
    for key in ("implementation", "max-tasks-per-child", "put-guarded-by-semaphore", "timeouts", "writes"):
        assert key in pool, f"stats.pool lacks {key!r}"
    broker = stats["broker"]
    assert {"hostname", "userid", "virtual_host", "port", "transport", "heartbeat"} <= set(broker), broker
    assert broker["transport"] == "amqp" and broker["port"] == 5672
    assert "password" not in broker
    assert isinstance(stats["prefetch_count"], int) and stats["prefetch_count"] >= 1
    assert stats["rusage"] == "N/A" or {"utime", "stime", "maxrss"} <= set(stats["rusage"])


def test_active_queues_names_the_queue(ctl):
    queues = inspect("active_queues", node=ctl.node)
    assert [q["name"] for q in queues] == [ctl.queue]
    q = queues[0]
    assert q["exchange"]["name"] == ctl.queue and q["exchange"]["type"] == "direct"
    assert q["routing_key"] == ctl.queue and q["durable"] is True and q["no_ack"] is False


def test_conf_masks_the_broker_password(ctl):
    conf = inspect("conf", node=ctl.node)
    assert isinstance(conf, dict) and conf
    url = conf.get("broker_url")
    assert isinstance(url, str) and url.startswith("amqp://"), conf
    password = celery_cli.env().get("CELERY_BROKER_URL", harness.broker_url())
    password = password.split("//", 1)[1].split("@", 1)[0].partition(":")[2]
    if password:
        assert f":{password}@" not in json.dumps(conf), f"conf shows the broker password: {url}"
    assert "********" in url


def test_report(ctl):
    report = inspect("report", node=ctl.node)
    assert set(report) == {"ok"} and isinstance(report["ok"], str) and len(report["ok"]) > 20


def test_clock_moves_forward(ctl):
    first = inspect("clock", node=ctl.node)
    assert set(first) == {"clock"} and isinstance(first["clock"], int)
    second = inspect("clock", node=ctl.node)
    assert second["clock"] > first["clock"]


# ---- a busy worker: active, reserved, scheduled, query_task, revoke ---------


@pytest.fixture(scope="module")
def busy(ctl, app):
    """With -c 1: arith.sleep(30) running, arith.add(20, 22) and
    arith.add(5, 5) waiting for the pool (reserved), arith.add(1, 2) with a
    60 s countdown (scheduled)."""
    def send(name, args, **options):
        return app.send_task(name, args=list(args), queue=ctl.queue, **options)
    sleeping = send("arith.sleep", (30,))
    waiting = send("arith.add", (20, 22))
    doomed = send("arith.add", (5, 5))  # revoked while reserved
    later = send("arith.add", (1, 2), countdown=60)
    deadline = time.monotonic() + 10
    while True:
        active = (app.control.inspect(destination=[ctl.node], timeout=1).active() or {}).get(ctl.node, [])
        if any(a["id"] == sleeping.id for a in active):
            break
        assert time.monotonic() < deadline, f"arith.sleep never showed as active: {active}"
        time.sleep(0.1)
    yield {"sleeping": sleeping, "waiting": waiting, "doomed": doomed, "later": later}
    app.control.revoke([sleeping.id, waiting.id, doomed.id, later.id], terminate=True, destination=[ctl.node])


def test_active_shows_the_running_task(ctl, busy):
    active = inspect("active", node=ctl.node)
    assert len(active) == 1, active
    check_request_info(active[0], task_id=busy["sleeping"].id, name="arith.sleep", args=[30],
                       node=ctl.node, started=True)
    assert active[0]["acknowledged"] is True  # acknowledged when it started (early ack)


def test_reserved_shows_the_waiting_task(ctl, busy):
    reserved = inspect("reserved", node=ctl.node)
    # plugworker lists them in arrival order; Celery's order is a set's.
    assert sorted(r["id"] for r in reserved) == sorted([busy["waiting"].id, busy["doomed"].id]), reserved
    info = next(r for r in reserved if r["id"] == busy["waiting"].id)
    check_request_info(info, task_id=busy["waiting"].id, name="arith.add", args=[20, 22],
                       node=ctl.node, started=False)


def test_scheduled_shows_the_countdown_task(ctl, busy):
    scheduled = inspect("scheduled", node=ctl.node)
    assert len(scheduled) == 1, scheduled
    item = scheduled[0]
    assert set(item) == {"eta", "priority", "request"}, item
    assert isinstance(item["eta"], str) and item["eta"][:2] == "20", item  # ISO 8601
    assert isinstance(item["priority"], int)
    check_request_info(item["request"], task_id=busy["later"].id, name="arith.add", args=[1, 2],
                       node=ctl.node, started=False)


def test_query_task(ctl, busy):
    ids = {kind: busy[kind].id for kind in ("sleeping", "waiting", "later")}
    unknown = str(uuid.uuid4())
    found = inspect("query_task", *ids.values(), unknown, node=ctl.node)
    assert set(found) == set(ids.values()), found  # unknown ids are left out
    assert found[ids["sleeping"]][0] == "active"
    assert found[ids["waiting"]][0] == "reserved"
    assert found[ids["later"]][0] == "scheduled"
    for state, info in found.values():
        assert info["id"] in ids.values() and info["hostname"] == ctl.node
    assert inspect("query_task", unknown, node=ctl.node) == {}


def test_revoke_and_revoked(ctl, busy):
    later = busy["later"].id
    reply = control("revoke", later, node=ctl.node)
    assert reply == {"ok": f"tasks {{'{later}'}} flagged as revoked"}
    doomed = busy["doomed"].id
    assert control("revoke", doomed, node=ctl.node) == {"ok": f"tasks {{'{doomed}'}} flagged as revoked"}
    revoked = inspect("revoked", node=ctl.node)
    assert later in revoked and doomed in revoked, revoked


def test_terminate_running_task(ctl, busy):
    """`celery control terminate SIGTERM <id>` (the CLI's revoke with
    terminate): the client's get() raises TaskRevokedError; the task that
    waited for the pool then runs."""
    sleeping = busy["sleeping"]
    reply = control("terminate", "SIGTERM", sleeping.id, node=ctl.node)
    assert set(reply) == {"ok"} and reply["ok"].startswith("terminate:") and sleeping.id in reply["ok"], reply
    with pytest.raises(TaskRevokedError):
        sleeping.get(timeout=TIMEOUT)
    assert sleeping.state == "REVOKED"
    assert busy["waiting"].get(timeout=TIMEOUT) == 42
    # The reserved task revoked above never runs: REVOKED when its turn comes.
    with pytest.raises(TaskRevokedError):
        busy["doomed"].get(timeout=TIMEOUT)
    assert sleeping.id in inspect("revoked", node=ctl.node)


# ---- actions ----------------------------------------------------------------


def test_rate_limit(ctl, send_ctl):
    """`rate_limit arith.mul 2/s`: registered shows it, and four tasks take
    at least 1.5 s (one token at once, then one every 0.5 s); "" lifts it."""
    try:
        assert control("rate_limit", "arith.mul", "2/s", node=ctl.node) == {"ok": "new rate limit set successfully"}
        assert "arith.mul [rate_limit=2/s]" in inspect("registered", "rate_limit", node=ctl.node)
        started = time.monotonic()
        results = [send_ctl("arith.mul", (i, 2)) for i in range(4)]
        assert [r.get(timeout=TIMEOUT) for r in results] == [0, 2, 4, 6]
        elapsed = time.monotonic() - started
        assert elapsed >= 1.4, f"4 tasks at 2/s took only {elapsed:.2f} s"
    finally:
        assert control("rate_limit", "arith.mul", "", node=ctl.node) == {"ok": "rate limit disabled successfully"}
    # Celery now shows "arith.mul [rate_limit=]" (the attribute is ""); plugworker "arith.mul".
    assert "arith.mul" in [task_name(t) for t in inspect("registered", "rate_limit", node=ctl.node)]
    started = time.monotonic()
    results = [send_ctl("arith.mul", (i, 2)) for i in range(4)]
    assert [r.get(timeout=TIMEOUT) for r in results] == [0, 2, 4, 6]
    assert time.monotonic() - started < 1.4
    assert control("rate_limit", "no.such.task", "1/s", node=ctl.node) == {"error": "unknown task"}


def test_time_limit(ctl, send_ctl, worker_kind):
    """`time_limit arith.sleep SOFT HARD` for the tasks that start next:
    the soft limit raises SoftTimeLimitExceeded in the task, the hard one
    kills its pool process: TimeLimitExceeded. `0 0` lifts them."""
    ok = {"ok": "time limits set successfully"}
    if worker_kind == "celery":  # DIFFERENCES: replies only
        assert control("time_limit", "arith.sleep", "0.3", "10", node=ctl.node) == ok
        assert control("time_limit", "arith.sleep", "0", "0", node=ctl.node) == ok
        assert control("time_limit", "no.such.task", "30", "60", node=ctl.node) == {"error": "unknown task"}
        return
    try:
        assert control("time_limit", "arith.sleep", "0.3", "10", node=ctl.node) == ok
        with pytest.raises(SoftTimeLimitExceeded):
            send_ctl("arith.sleep", (5,)).get(timeout=TIMEOUT)
        assert control("time_limit", "arith.sleep", "10", "0.5", node=ctl.node) == ok
        started = time.monotonic()
        with pytest.raises(TimeLimitExceeded):
            send_ctl("arith.sleep", (5,)).get(timeout=TIMEOUT)
        assert time.monotonic() - started < 4
    finally:
        assert control("time_limit", "arith.sleep", "0", "0", node=ctl.node) == {"ok": "time limits set successfully"}
    assert send_ctl("arith.sleep", (0.6,)).get(timeout=TIMEOUT) is None
    assert control("time_limit", "no.such.task", "30", "60", node=ctl.node) == {"error": "unknown task"}


def test_rate_limit_bad_string(ctl):
    reply = control("rate_limit", "arith.add", "lots/s", node=ctl.node)
    assert set(reply) == {"error"} and reply["error"].startswith("Invalid rate limit string"), reply


def _pool(app, node):
    stats = (app.control.inspect(destination=[node], timeout=2).stats() or {}).get(node)
    assert stats, f"no stats from {node}"
    return stats["pool"]


def _wait_pool_size(app, node, size, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        pool = _pool(app, node)
        if len(pool["processes"]) == size:
            return pool
        assert time.monotonic() < deadline, f"stats.pool.processes never had {size} entries: {pool}"
        time.sleep(0.2)


def test_pool_grow_and_shrink(ctl, app, worker_kind):
    before = len(_pool(app, ctl.node)["processes"])
    # Celery 5.7 does not really grow, and then refuses to shrink by 2
    # ("Can't shrink pool. All processes busy!").
    n = 2 if worker_kind == "plugworker" else 1
    assert control("pool_grow", str(n), node=ctl.node) == {"ok": "pool will grow"}
    if worker_kind == "plugworker":  # DIFFERENCES: Celery 5.7's count stays the same
        pool = _wait_pool_size(app, ctl.node, before + n)
        assert pool["max-concurrency"] == before + n
    assert control("pool_shrink", str(n), node=ctl.node) == {"ok": "pool will shrink"}
    if worker_kind == "plugworker":
        pool = _wait_pool_size(app, ctl.node, before)
        assert pool["max-concurrency"] == before


def test_autoscale_not_enabled(ctl):
    assert control("autoscale", "4", "1", node=ctl.node) == {"error": "ValueError('Autoscale not enabled')"}


def test_add_and_cancel_consumer(ctl, app):
    extra = f"it-extra-{uuid.uuid4().hex[:8]}"
    try:
        assert control("add_consumer", extra, node=ctl.node) == {"ok": f"add consumer {extra}"}
        names = [q["name"] for q in inspect("active_queues", node=ctl.node)]
        assert names == [ctl.queue, extra], names
        # It really consumes from the new queue.
        assert app.send_task("arith.add", args=[40, 2], queue=extra).get(timeout=TIMEOUT) == 42
        assert control("cancel_consumer", extra, node=ctl.node) == {"ok": f"no longer consuming from {extra}"}
        names = [q["name"] for q in inspect("active_queues", node=ctl.node)]
        assert names == [ctl.queue], names
    finally:
        celery_cli.delete_queues(extra)


def _task_events_seen(app, send_ctl, node) -> bool:
    """Runs arith.add and says whether a task event from `node` arrived."""
    from kombu import Connection, Exchange, Queue
    seen = []
    with Connection(harness.broker_url()) as conn:
        queue = Queue(f"it-ev-{uuid.uuid4().hex[:8]}", Exchange("celeryev", type="topic"),
                      routing_key="task.#", auto_delete=True, durable=False, exclusive=True)
        with conn.Consumer(queue, callbacks=[lambda body, msg: seen.append(body)], accept=["json"]):
            assert send_ctl("arith.add", (2, 2)).get(timeout=TIMEOUT) == 4
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline and not any(
                    e.get("hostname") == node for b in seen for e in (b if isinstance(b, list) else [b])):
                try:
                    conn.drain_events(timeout=0.2)
                except TimeoutError:
                    pass
                except OSError:
                    pass
    events = [e for b in seen for e in (b if isinstance(b, list) else [b])]
    return any(e.get("hostname") == node for e in events)


def test_enable_and_disable_events(ctl, app, send_ctl, worker_kind):
    first = control("disable_events", node=ctl.node)
    second = control("disable_events", node=ctl.node)
    for reply in (first, second):
        assert set(reply) == {"ok"} and "task events" in reply["ok"] and "disabled" in reply["ok"], reply
    if worker_kind == "plugworker":  # DIFFERENCES: Celery 5.7 with -E cannot switch them off
        assert first == {"ok": "task events disabled"}
        assert second == {"ok": "task events already disabled"}
        assert not _task_events_seen(app, send_ctl, ctl.node), "task events after disable_events"
    first = control("enable_events", node=ctl.node)
    second = control("enable_events", node=ctl.node)
    for reply in (first, second):
        assert set(reply) == {"ok"} and "task events" in reply["ok"] and "enabled" in reply["ok"], reply
    if worker_kind == "plugworker":
        assert first == {"ok": "task events enabled"}
        assert second == {"ok": "task events already enabled"}
    assert _task_events_seen(app, send_ctl, ctl.node), "no task events after enable_events"


def test_heartbeat(ctl):
    assert control("heartbeat", node=ctl.node) is None


# ---- the same through plugworker inspect / control --------------------------


def _plugworker(*args, timeout=30):
    binary = harness.plugworker_binary()
    if not binary.is_file():
        pytest.skip(f"plugworker binary not built ({binary})")
    done = subprocess.run([str(binary), *args, "--broker", harness.broker_url()], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return done


@pytest.mark.parametrize("argv, expected", [
    (("inspect", "ping"), {"ok": "pong"}),
    (("inspect", "registered"), "arith.add"),
    (("inspect", "active_queues"), "queue"),
    (("control", "rate_limit", "no.such.task", "1/s"), {"error": "unknown task"}),
    (("control", "autoscale", "2", "1"), {"error": "ValueError('Autoscale not enabled')"}),
], ids=["inspect-ping", "inspect-registered", "inspect-active_queues", "control-rate_limit-unknown",
        "control-autoscale"])
def test_plugworker_cli(ctl, argv, expected):
    """`plugworker inspect|control` prints what `celery ... --json` prints
    (against either kind of worker)."""
    done = _plugworker(*argv, "--json", "--destination", ctl.node, "--timeout", "5")
    assert done.returncode == 0, f"exit {done.returncode}: {done.stdout}{done.stderr}"
    replies = json.loads(done.stdout)
    if argv[0] == "control":
        assert isinstance(replies, list) and len(replies) == 1, replies
        replies = replies[0]
    assert list(replies) == [ctl.node]
    payload = replies[ctl.node]
    if expected == "arith.add":
        assert "arith.add" in [task_name(t) for t in payload]
        assert payload == inspect("registered", node=ctl.node)
    elif expected == "queue":
        assert [q["name"] for q in payload] == [ctl.queue]
    else:
        assert payload == expected


def test_plugworker_cli_no_reply(ctl):
    done = _plugworker("inspect", "ping", "--destination", f"nobody-{uuid.uuid4().hex[:6]}@nowhere",
                       "--timeout", "0.5")
    assert done.returncode == celery_cli.EX_UNAVAILABLE, done


# ---- shutdown (last, on a worker of its own) ----------------------------------


def test_two_nodes_then_shutdown(ctl, worker_kind, app, tmp_path_factory, report_file):
    """A second worker: `inspect registered` with no destination lists the
    tasks of both nodes (and of any other worker on this broker);
    `plugworker inspect --pattern` selects one; then `control shutdown`
    stops the second worker cleanly."""
    proc = celery_cli.start_worker(worker_kind, tmp_path_factory.getbasetemp(), concurrency=1)
    report_file(f"shutdown worker log ({proc.kind})", proc.log_path)
    try:
        celery_cli.wait_for_control(app, proc.node)
        done = celery_cli.run_celery("inspect", "registered", "-t", "2", "--json")
        assert done.returncode == 0, done
        replies = done.json()
        for node in (ctl.node, proc.node):
            assert node in replies, f"no reply from {node}: {sorted(replies)}"
            assert "arith.add" in [task_name(t) for t in replies[node]]
        if harness.plugworker_binary().is_file():
            done = _plugworker("inspect", "ping", "--pattern", proc.node.split("@")[0] + "@*",
                               "--matcher", "glob", "--timeout", "1", "--json")
            assert done.returncode == 0, done
            assert json.loads(done.stdout) == {proc.node: {"ok": "pong"}}

        done = celery_cli.run_celery("control", "shutdown", "-d", proc.node, "-t", "1", "--json")
        # shutdown is never answered (celery-wire §5.3).
        assert done.returncode == celery_cli.EX_UNAVAILABLE, done
        assert "No nodes replied" in done.stdout + done.stderr
        try:
            status = proc.proc.wait(15)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker still runs 15 s after control shutdown")
        assert status == 0, f"exit status {status} after control shutdown"
        assert not app.control.ping(destination=[proc.node], timeout=0.5)
    finally:
        proc.stop()
        celery_cli.delete_queues(proc.queue)
