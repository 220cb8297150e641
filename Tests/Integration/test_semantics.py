"""Task semantics through the real broker, the real worker and the stock
Celery client: ETA/countdown, expiry, retries, rate limits, late acks and a
killed pool process, dead-lettering, priorities and quorum queues.

Each test starts a private worker (``custom_worker``) with the example
plugins and ``libsemantics.so`` (Tests/Fixtures/Plugins/semantics.c, built
here with plain cc), on its own queue. Timings come from the worker's
``date_done`` (one clock: this machine's) or from the client's monotonic
clock; bounds are wide enough for a loaded machine but fail when the
behaviour is missing (no countdown, no limit, no retry).

Only plugworker has the semantics fixture: with PLUGWORKER_TEST_WORKER=celery
the tests are skipped.
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

import harness
from test_metrics import free_port, get, parse_prometheus, value

TIMEOUT = 20


@pytest.fixture(autouse=True)
def _plugworker_only(worker_kind):
    if worker_kind != "plugworker":
        pytest.skip("the semantics fixture plugin exists only for plugworker")


@pytest.fixture(scope="module")
def semantics_dir(tmp_path_factory) -> Path:
    """A private directory with libsemantics.so, built with plain cc."""
    return harness.build_fixture_plugin("semantics", tmp_path_factory.mktemp("semantics-plugin"))


@pytest.fixture
def start(custom_worker, semantics_dir):
    """start(*extra_args, concurrency=3, queue=None) -> (worker, queue name)."""
    def _start(*extra_args, concurrency: int = 3, queue: str | None = None):
        queue = queue or f"it-sem-{uuid.uuid4().hex[:10]}"
        proc = custom_worker(queue, concurrency=concurrency,
                             extra_args=["--plugins", str(semantics_dir), *extra_args])
        return proc, queue
    return _start


def done_at(result) -> float:
    """The worker's completion time of a finished task, epoch seconds."""
    value = result._get_task_meta().get("date_done")  # the meta get() cached
    assert value, f"no date_done for {result.id}"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def task_counts(port: int, name: str) -> dict[str, float]:
    """plugworker_tasks_total{name=...} by state, from /metrics."""
    status, _, body = get(port, "/metrics")
    assert status == 200
    samples, _ = parse_prometheus(body)
    states = ("received", "started", "succeeded", "failed", "retried", "revoked", "rejected")
    return {state: value(samples, "plugworker_tasks_total", name=name, state=state) for state in states}


def lines(proc, pattern: str, at_least: int = 1, wait: float = 3.0) -> list[str]:
    """The worker's log lines matching `pattern`, once there are `at_least`
    of them or `wait` seconds have passed (the log is followed every 20 ms,
    so a line may lag the result it belongs to)."""
    deadline = time.monotonic() + wait
    while True:
        found = [line for line in proc.log_text().splitlines() if re.search(pattern, line)]
        if len(found) >= at_least or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


# ---- ETA / countdown and expiry ---------------------------------------------


def test_countdown_is_honoured(start, client):
    proc, queue = start()
    sent = time.time()
    r = client.send_task("arith.add", args=[2, 3], queue=queue, countdown=2)
    fast = client.send_task("arith.add", args=[1, 1], queue=queue)
    assert fast.get(timeout=TIMEOUT) == 2
    assert not r.ready(), "the countdown task ran before its countdown"
    assert r.get(timeout=TIMEOUT) == 5
    assert done_at(r) - sent >= 1.9, "the result came before the countdown"


def test_expired_while_held_is_revoked(start, client):
    from celery.exceptions import TaskRevokedError
    proc, queue = start()
    r = client.send_task("arith.add", args=[2, 3], queue=queue, countdown=2, expires=1)
    with pytest.raises(TaskRevokedError):
        r.get(timeout=TIMEOUT)
    assert r.state == "REVOKED"
    assert "expired" in str(r.result)
    assert lines(proc, rf"Discarding revoked task: arith\.add\[{r.id}\] \(expired\)")
    assert not lines(proc, rf"arith\.add\[{r.id}\] succeeded", wait=0)


def test_expired_on_receipt_is_revoked(start, client):
    """expires already past when sent (the AMQP expiration is then "0", which
    RabbitMQ still delivers to a consumer with room): REVOKED, not run."""
    from celery.exceptions import TaskRevokedError
    proc, queue = start()
    r = client.send_task("arith.add", args=[2, 3], queue=queue,
                         expires=datetime.now(timezone.utc) - timedelta(seconds=30))
    with pytest.raises(TaskRevokedError):
        r.get(timeout=TIMEOUT)
    assert lines(proc, rf"Discarding revoked task: arith\.add\[{r.id}\] \(expired\)")
    assert not lines(proc, rf"arith\.add\[{r.id}\] succeeded", wait=0)


def test_eta_flood_beyond_eta_limit_all_run(start, client):
    """30 countdown tasks through a worker that may hold 5 beyond its
    window of 2: it never holds more than 7, and all of them run."""
    proc, queue = start("--eta-limit", "5", "--prefetch-multiplier", "1", concurrency=2)
    results = [client.send_task("arith.add", args=[i, 1], queue=queue, countdown=1) for i in range(30)]
    most = 0
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline and not all(r.ready() for r in results):
        reply = client.control.inspect(destination=[proc.node], timeout=0.5).scheduled() or {}
        most = max(most, len(reply.get(proc.node, [])))
        time.sleep(0.2)
    assert [r.get(timeout=TIMEOUT) for r in results] == [i + 1 for i in range(30)]
    assert 0 < most <= 7, f"{most} tasks held at once with --eta-limit 5 and a window of 2"
    assert lines(proc, r"--eta-limit"), "reaching the limit is logged"


# ---- Retries -------------------------------------------------------------------


def test_flaky_retries_until_success(start, client):
    port = free_port()
    proc, queue = start("--metrics-port", str(port))
    r = client.send_task("arith.flaky", args=[3], queue=queue)
    assert r.get(timeout=TIMEOUT) == 3, "the task returns its retry count"
    assert len(lines(proc, rf"arith\.flaky\[{r.id}\] retry: Retry in", at_least=3)) == 3
    counts = task_counts(port, "arith.flaky")
    assert counts["retried"] == 3 and counts["succeeded"] == 1 and counts["received"] == 4, counts


def test_flaky_past_max_retries_fails(start, client):
    proc, queue = start()
    r = client.send_task("arith.flaky", args=[5], queue=queue)
    with pytest.raises(Exception) as info:
        r.get(timeout=TIMEOUT)
    assert type(info.value).__name__ == "MaxRetriesExceededError", repr(info.value)
    assert "max_retries (3) exceeded" in str(info.value)
    assert len(lines(proc, rf"arith\.flaky\[{r.id}\] retry: ", at_least=3)) == 3


def test_retry_backoff(start, client):
    """retry_backoff 0.2 s, max 0.5 s, no jitter: 0.2 + 0.4 + 0.5 s."""
    proc, queue = start()
    began = time.monotonic()
    r = client.send_task("semantics.backoff", args=[3], queue=queue)
    assert r.get(timeout=TIMEOUT) == 3
    assert time.monotonic() - began >= 1.05
    delays = [float(m.group(1)) for line in lines(proc, rf"semantics\.backoff\[{r.id}\] retry: ", at_least=3)
              for m in [re.search(r"Retry in ([0-9.]+)s", line)] if m]
    assert delays == [0.2, 0.4, 0.5]


# ---- Rate limits ---------------------------------------------------------------


def test_rate_limit_holds_the_rate_while_others_stay_fast(start, client):
    proc, queue = start()
    limited = [client.send_task("semantics.limited", args=[i], queue=queue) for i in range(25)]
    time.sleep(0.3)
    began = time.monotonic()
    fast = [client.send_task("arith.add", args=[i, i], queue=queue) for i in range(10)]
    assert [r.get(timeout=TIMEOUT) for r in fast] == [2 * i for i in range(10)]
    fast_took = time.monotonic() - began
    assert fast_took < 1.5, f"arith.add waited {fast_took:.2f}s behind the rate-limited task"
    assert not all(r.ready() for r in limited), "the limited tasks were not limited"
    assert [r.get(timeout=TIMEOUT) for r in limited] == list(range(25))
    times = sorted(done_at(r) for r in limited)
    # 10/s with a burst of 1: 25 tasks take at least 2.4 s ...
    assert times[-1] - times[0] >= 2.2, f"25 tasks at 10/s done in {times[-1] - times[0]:.2f}s"
    # ... and no one-second window holds more than limit + burst.
    worst = max(sum(1 for t in times if t0 <= t < t0 + 1.0) for t0 in times)
    assert worst <= 12, f"{worst} limited tasks finished within one second"

    # Lifted at run time by the control command: the rest run at once.
    reply = client.control.rate_limit("semantics.limited", "", destination=[proc.node], reply=True)
    assert reply and "disabled" in str(reply)
    began = time.monotonic()
    more = [client.send_task("semantics.limited", args=[i], queue=queue) for i in range(20)]
    assert [r.get(timeout=TIMEOUT) for r in more] == list(range(20))
    assert time.monotonic() - began < 1.5


def test_warm_shutdown_gives_back_held_and_rate_limited(start, client):
    """TERM while tasks wait for an ETA or a rate-limit token: the worker
    exits at once and gives them back; another worker runs every one."""
    first, queue = start()
    limited = [client.send_task("semantics.limited", args=[i], queue=queue) for i in range(20)]
    for i in range(3):  # held for their ETA
        client.send_task("arith.add", args=[i, 0], queue=queue, countdown=30)
    time.sleep(0.5)
    began = time.monotonic()
    assert first.stop() == 0
    assert time.monotonic() - began < 5, "the warm shutdown waited for held tasks"
    assert lines(first, r"Gave back \d+ unstarted messages", wait=0)
    assert not all(r.ready() for r in limited)
    second, _ = start(queue=queue)
    assert [r.get(timeout=TIMEOUT) for r in limited] == list(range(20))
    reply = client.control.inspect(destination=[second.node], timeout=2).scheduled() or {}
    assert len(reply.get(second.node, [])) == 3, "the ETA tasks came back to the second worker"


def test_rate_limit_set_at_run_time(start, client):
    proc, queue = start()
    reply = client.control.rate_limit("arith.mul", "5/s", destination=[proc.node], reply=True)
    assert reply and "new rate limit set successfully" in str(reply)
    registered = client.control.inspect(destination=[proc.node], timeout=2).registered("rate_limit") or {}
    assert "arith.mul [rate_limit=5/s]" in registered.get(proc.node, []), registered
    results = [client.send_task("arith.mul", args=[i, 2], queue=queue) for i in range(8)]
    assert [r.get(timeout=TIMEOUT) for r in results] == [float(2 * i) for i in range(8)]
    times = sorted(done_at(r) for r in results)
    assert times[-1] - times[0] >= 1.2, f"8 tasks at 5/s done in {times[-1] - times[0]:.2f}s"


# ---- Acknowledgement -----------------------------------------------------------


def test_acks_late_pool_process_killed_runs_again_once(start, client):
    """acks_late + reject_on_worker_lost: kill -9 of the pool process running
    the task → the message is requeued, redelivered, and completes once."""
    proc, queue = start(concurrency=1)
    r = client.send_task("semantics.late_sleep", args=[1.5], queue=queue)
    victim = None
    deadline = time.monotonic() + 10
    while victim is None and time.monotonic() < deadline:
        active = client.control.inspect(destination=[proc.node], timeout=0.5).active() or {}
        for info in active.get(proc.node, []):
            if info["id"] == r.id and info.get("worker_pid"):
                victim = info["worker_pid"]
        time.sleep(0.1)
    assert victim, "the task never showed as active"
    os.kill(victim, signal.SIGKILL)
    pid = r.get(timeout=TIMEOUT)
    assert pid != victim, "the result came from the killed process"
    assert r.state == "SUCCESS"
    assert len(lines(proc, rf"semantics\.late_sleep\[{r.id}\] received", at_least=2)) == 2
    assert len(lines(proc, rf"semantics\.late_sleep\[{r.id}\] succeeded", at_least=2, wait=1.0)) == 1
    assert lines(proc, rf"semantics\.late_sleep\[{r.id}\]: pool process {victim} died; requeued once")


def test_killed_twice_fails_with_worker_lost(start, client):
    """reject_on_worker_lost requeues only once: a redelivered message whose
    process dies again fails with WorkerLostError (no poison loop)."""
    port = free_port()
    proc, queue = start("--metrics-port", str(port), concurrency=1)
    r = client.send_task("semantics.late_sleep", args=[3], queue=queue)
    killed = []
    deadline = time.monotonic() + 15
    while len(killed) < 2 and time.monotonic() < deadline:
        active = client.control.inspect(destination=[proc.node], timeout=0.5).active() or {}
        for info in active.get(proc.node, []):
            pid = info.get("worker_pid")
            if info["id"] == r.id and pid and pid not in killed:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        time.sleep(0.1)
    assert len(killed) == 2, f"killed {killed}"
    with pytest.raises(Exception) as info:
        r.get(timeout=TIMEOUT)
    assert type(info.value).__name__ == "WorkerLostError", repr(info.value)
    assert len(lines(proc, rf"semantics\.late_sleep\[{r.id}\] received", at_least=2)) == 2
    counts = task_counts(port, "semantics.late_sleep")
    assert counts["rejected"] == 1 and counts["failed"] == 1 and counts["succeeded"] == 0, counts


def test_failure_without_ack_is_dead_lettered(start, client, broker_url):
    """acks_on_failure_or_timeout off: the failed message goes to the DLX."""
    queue = f"it-sem-{uuid.uuid4().hex[:10]}"
    dlx, dlq = f"{queue}.dlx", f"{queue}.dead"
    with Connection(broker_url) as conn:
        ch = conn.channel()
        ch.exchange_declare(dlx, "fanout", durable=False, auto_delete=False)
        ch.queue_declare(dlq, durable=False, auto_delete=False)
        ch.queue_bind(dlq, dlx, "")
    try:
        proc, _ = start("--queue-argument", f"{queue}:x-dead-letter-exchange={dlx}", queue=queue)
        target = Queue(queue, Exchange(queue, type="direct"), routing_key=queue,
                       queue_arguments={"x-dead-letter-exchange": dlx})
        r = client.send_task("semantics.fail_late", queue=target)
        with pytest.raises(ValueError):
            r.get(timeout=TIMEOUT)
        with Connection(broker_url) as conn:
            ch = conn.channel()
            message = None
            deadline = time.monotonic() + 5
            while message is None and time.monotonic() < deadline:
                message = ch.basic_get(dlq, no_ack=True)
                time.sleep(0.1)
            assert message is not None, "nothing was dead-lettered"
            assert message.headers["id"] == r.id
    finally:
        with Connection(broker_url) as conn:
            ch = conn.channel()
            ch.queue_delete(dlq)
            ch.exchange_delete(dlx)


# ---- Priorities and quorum queues -------------------------------------------


def test_priority_queue_runs_high_priority_first(start, client):
    proc, queue = start("--queue-max-priority", "10", "--prefetch-multiplier", "1", concurrency=1)
    target = Queue(queue, Exchange(queue, type="direct"), routing_key=queue,
                   queue_arguments={"x-max-priority": 10})
    blocker = client.send_task("arith.sleep", args=[1.0], queue=target)
    time.sleep(0.4)  # running (acked); the next message fills the window of 1
    filler = client.send_task("arith.add", args=[0, 0], queue=target, priority=0)
    time.sleep(0.2)
    low = [client.send_task("arith.add", args=[i, 0], queue=target, priority=1) for i in range(3)]
    high = [client.send_task("arith.add", args=[i, 100], queue=target, priority=9) for i in range(3)]
    for r in [blocker, filler, *low, *high]:
        r.get(timeout=TIMEOUT)
    assert max(done_at(r) for r in high) < min(done_at(r) for r in low), "priority was not honoured"


def test_quorum_queue_with_per_consumer_qos(start, client):
    proc, queue = start("--queue-type", "quorum")
    target = Queue(queue, Exchange(queue, type="direct"), routing_key=queue,
                   queue_arguments={"x-queue-type": "quorum"})
    r = client.send_task("arith.add", args=[20, 22], queue=target)
    assert r.get(timeout=TIMEOUT) == 42
    later = client.send_task("arith.add", args=[1, 2], queue=target, countdown=1)
    assert later.get(timeout=TIMEOUT) == 3
