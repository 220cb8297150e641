"""Canvas through a real broker with the stock Celery client: chains (with
failure propagation), link callbacks, link_error errbacks, groups; and a
Swift program using the PlugworkerClient library.

Task semantics are those of Plugins/arith.c and Plugins/text.swift:
arith.add takes int64s, arith.mul doubles, arith.div raises
ZeroDivisionError for a zero divisor; text.upper upper-cases a string (so
it makes an errback that shows which task id it was given).

Every signature names the session's queue: a signature without one goes to
Celery's default queue ``celery``, for plugworker as for a Python worker.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery, chain, chord, group

TIMEOUT = 10
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sig(app, worker, queue_name):
    """sig(name, *args, immutable=False, **options) -> a signature routed to
    the session's queue."""
    def _sig(name, *args, immutable=False, **options):
        s = app.signature(name, args=args, queue=queue_name, **options)
        return s.set(immutable=True) if immutable else s
    return _sig


# ---- chains ------------------------------------------------------------------


def test_chain_three_steps(sig):
    """add(2, 2) = 4 → mul(4, 4.0) = 16.0 → mul(16.0, 0.5) = 8.0; each
    step's result is put before the next step's args."""
    result = chain(sig("arith.add", 2, 2), sig("arith.mul", 4.0), sig("arith.mul", 0.5)).apply_async()
    assert result.get(timeout=TIMEOUT) == 8.0
    assert result.parent.get(timeout=TIMEOUT) == 16.0
    assert result.parent.parent.get(timeout=TIMEOUT) == 4


def test_chain_immutable_step(sig):
    """An immutable step (.si) does not get the previous result."""
    result = chain(sig("arith.add", 1, 2), sig("arith.mul", 3.0),
                   sig("arith.add", 100, 1, immutable=True)).apply_async()
    assert result.get(timeout=TIMEOUT) == 101
    assert result.parent.get(timeout=TIMEOUT) == 9.0


def test_chain_failure_propagates(sig):
    """The middle step fails: the last step never runs, and get() on the
    chain raises the middle step's error."""
    result = chain(sig("arith.add", 2, 2), sig("arith.div", 0), sig("arith.add", 1)).apply_async()
    with pytest.raises(ZeroDivisionError):
        result.get(timeout=TIMEOUT)
    # get() raises from the first failed parent it finds (the client walks
    # the parents); the failed step itself:
    assert result.parent.state == "FAILURE"
    assert result.parent.parent.get(timeout=TIMEOUT) == 4


def test_chain_bad_argument_propagates(sig):
    """A step refused for its arguments (2.5 for an int64) fails the
    rest of the chain too, as Python's TypeError inside the task does."""
    result = chain(sig("arith.mul", 2.5, 1.0), sig("arith.add", 1), sig("arith.add", 1)).apply_async()
    with pytest.raises(TypeError):
        result.get(timeout=TIMEOUT)


def test_chain_hard_time_limit_propagates(sig):
    """A step killed by its hard time limit fails the rest of the chain."""
    result = chain(sig("arith.sleep", 3.0, time_limit=0.5), sig("arith.add", 1, 1, immutable=True)).apply_async()
    with pytest.raises(Exception) as excinfo:
        result.get(timeout=TIMEOUT)
    assert type(excinfo.value).__name__ == "TimeLimitExceeded"


# ---- link and link_error -----------------------------------------------------------


def test_link_callback_result_readable(send, sig, worker_kind):
    """add(2, 2) with link=mul.s(10): the callback gets 4 and its result is
    listed in the parent's children, readable by the client."""
    if worker_kind != "plugworker":
        pytest.skip("a Python worker sends callback results to its own rpc queue (celery-wire §4.1)")
    result = send("arith.add", (2, 2), link=sig("arith.mul", 10.0))
    assert result.get(timeout=TIMEOUT) == 4
    assert len(result.children) == 1
    assert result.children[0].get(timeout=TIMEOUT) == 40.0


def test_link_callback_with_frozen_id(send, sig):
    """A callback whose id the client froze can be read by that id."""
    callback = sig("arith.add", 5)
    callback_id = callback.freeze().id
    result = send("arith.add", (1, 1), link=callback)
    assert result.get(timeout=TIMEOUT) == 2
    child = result.children[0]
    assert child.id == callback_id


def test_link_error_errback_runs(app, send, sig, worker_kind):
    """div(1, 0) with link_error=upper.s(): the errback is sent with the
    failed task's id as its argument."""
    if worker_kind != "plugworker":
        pytest.skip("a Python worker sends errback results to its own rpc queue (celery-wire §4.2)")
    errback = sig("text.upper")
    errback_id = errback.freeze().id
    result = send("arith.div", (1, 0), link_error=errback)
    with pytest.raises(ZeroDivisionError):
        result.get(timeout=TIMEOUT)
    assert app.AsyncResult(errback_id).get(timeout=TIMEOUT) == result.id.upper()


def test_link_not_called_on_failure(send, sig):
    """A failed task calls no link callback: its result has no children."""
    result = send("arith.div", (1, 0), link=sig("arith.add", 1))
    with pytest.raises(ZeroDivisionError):
        result.get(timeout=TIMEOUT)
    assert not result.children


def test_callback_to_missing_exchange_is_dropped(app, custom_worker, worker_kind):
    """A callback routed to an exchange that does not exist is refused by
    the broker: the worker logs it, drops it (no retry loop), and goes on:
    the task's own result still arrives, and the next task runs."""
    if worker_kind != "plugworker":
        pytest.skip("plugworker's handling of a refused callback")
    queue = f"it-refused-{uuid.uuid4().hex[:8]}"
    proc = custom_worker(queue, concurrency=1)
    bad = app.signature("arith.add", args=(1,), exchange=f"it-missing-{uuid.uuid4().hex[:8]}", routing_key="x")
    result = app.send_task("arith.add", args=[1, 1], queue=queue, link=bad)
    assert result.get(timeout=TIMEOUT) == 2
    assert app.send_task("arith.add", args=[2, 2], queue=queue).get(timeout=TIMEOUT) == 4
    assert "is dropped" in proc.log_text()


# ---- groups ---------------------------------------------------------------------------


def test_group_of_ten(sig):
    result = group(sig("arith.add", i, i) for i in range(10))()
    assert result.get(timeout=TIMEOUT) == [2 * i for i in range(10)]
    assert all(r.state == "SUCCESS" for r in result.results)


def test_group_then_mapped_callbacks(sig):
    """A group whose members each have a link: every callback runs."""
    members = [sig("arith.add", i, 1, link=sig("arith.mul", 2.0)) for i in range(3)]
    result = group(members)()
    assert result.get(timeout=TIMEOUT) == [1, 2, 3]


# ---- track_started ----------------------------------------------------------------------------------


def test_track_started(broker_url, custom_worker, worker_kind):
    """With --task-track-started (Celery's task_track_started), a running
    task is STARTED, its result {pid, hostname}. A client of its own: the
    rpc backend's state polling competes with a consumer that an earlier
    get() on the session's client left on its reply queue."""
    if worker_kind != "plugworker":
        pytest.skip("the stand-in's tasks do not set track_started")
    queue = f"it-started-{uuid.uuid4().hex[:8]}"
    proc = custom_worker(queue, extra_args=["--task-track-started"], concurrency=1)
    app = Celery("plugworker-it-started", broker=broker_url, backend="rpc://")
    result = app.send_task("arith.sleep", args=[1.0], queue=queue)
    deadline = time.monotonic() + TIMEOUT
    while result.state == "PENDING" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert result.state == "STARTED"
    assert result.info["hostname"] == proc.node
    assert result.get(timeout=TIMEOUT) is None
    assert result.state == "SUCCESS"
    app.close()


# ---- chords: not with rpc:// -------------------------------------------------------------------


def test_chord_refused_by_rpc_client(sig):
    """The stock client refuses a chord (and a group chained to a task,
    which Celery upgrades to one) before sending anything: the rpc backend
    cannot count the header's results."""
    with pytest.raises(NotImplementedError, match="does not support chords"):
        chord([sig("arith.add", 1, 1), sig("arith.add", 2, 2)], sig("arith.add", 0)).apply_async()
    with pytest.raises(NotImplementedError, match="does not support chords"):
        chain(group(sig("arith.add", 1, 1), sig("arith.add", 2, 2)), sig("arith.add", 0)).apply_async()


# ---- the Swift producer library ------------------------------------------------------------------


def _example_binary() -> Path | None:
    for candidate in (REPO_ROOT / ".build" / "debug" / "plugworker-client-example",):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def test_swift_producer_library(broker_url, worker, queue_name):
    """plugworker-client-example (Examples/swift-producer, built with the
    package) sends a task, a chain and a failing task with PlugworkerClient."""
    binary = _example_binary()
    if binary is None:
        pytest.skip("plugworker-client-example not built (swift build)")
    proc = subprocess.run([str(binary), "--queue", queue_name], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CELERY_BROKER_URL": broker_url})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert "add(2, 3) = 5" in lines
    assert "chain add(2, 2) | mul(4.0) | mul(0.5) = 8.0" in lines
    assert "div(1, 0) raised ZeroDivisionError: integer division or modulo by zero" in lines
    assert "group of 3 = [2, 4, 6]" in lines


def test_plugworker_call_link(worker, queue_name, broker_url, worker_kind):
    """plugworker call --link prints the task's result and the callback's."""
    if worker_kind != "plugworker":
        pytest.skip("a Python worker sends callback results to its own rpc queue (celery-wire §4.1)")
    binary = REPO_ROOT / ".build" / "debug" / "plugworker"
    proc = subprocess.run([str(binary), "call", "arith.add", "2", "3", "--queue", queue_name,
                           "--link", "arith.mul 10.0", "--broker", broker_url],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == ["5", "50.0"]
