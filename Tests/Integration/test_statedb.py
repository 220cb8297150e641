"""Revocation kept across restarts (``--statedb``) and shared at start-up
(mingle), with a stock Celery client (celery-wire §3.3, §7.1).

- A worker started with ``--statedb FILE`` is told to revoke an id that has
  not been sent yet, stopped, started again on the same file: the task sent
  with that id then comes back REVOKED (``TaskRevokedError``) and is not run.
- Mingle: worker A revokes an id; worker B starts next to it, logs that it
  synced, and refuses the task with that id.
- plugworker and the Python stand-in worker (Celery 5.7) mingle with each
  other, both ways (plugworker only).

Every worker here is private (its own queue); other nodes on the broker may
answer mingle too, so the node counts are checked as "at least one".
"""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from celery.exceptions import TaskRevokedError
from kombu import Connection

import harness
from harness import wait_for

TIMEOUT = 15


def _queue(tag: str) -> str:
    return f"it-{tag}-{uuid.uuid4().hex[:10]}"


def _revoke(app, task_id: str, node: str) -> None:
    replies = app.control.revoke(task_id, destination=[node], reply=True, timeout=5)
    assert replies and node in replies[0], f"no reply from {node} to revoke: {replies}"


def _revoked_on(app, node: str) -> list:
    for _ in range(3):  # the reply may miss a 2 s window on a loaded machine
        replies = app.control.inspect(destination=[node], timeout=2).revoked() or {}
        if node in replies:
            return replies[node]
    raise AssertionError(f"{node} did not answer `inspect revoked`")


def test_statedb_keeps_revokes_across_restart(app, custom_worker, worker_kind, tmp_path):
    queue = _queue("statedb")
    db = tmp_path / "worker.state"
    # Without mingle: only the file can tell the new worker about the id.
    args = ["--statedb", str(db), "--without-mingle"]
    first = custom_worker(queue, extra_args=args)
    doomed = str(uuid.uuid4())
    _revoke(app, doomed, first.node)
    first.stop()
    if worker_kind == "plugworker":
        saved = json.loads(db.read_text())
        assert saved["format"] == "plugworker-statedb" and saved["version"] == 1, saved
        assert [doomed, pytest.approx(time.time(), abs=60)] in saved["revoked"], saved
        assert isinstance(saved["clock"], int) and saved["clock"] > 0

    second = custom_worker(queue, extra_args=args)
    if worker_kind == "plugworker":
        assert "statedb: " in second.log_text() and "1 revoked task id loaded" in second.log_text()
    assert doomed in _revoked_on(app, second.node)
    result = app.send_task("arith.add", args=[1, 2], queue=queue, task_id=doomed)
    with pytest.raises(TaskRevokedError):
        result.get(timeout=TIMEOUT)
    assert result.state == "REVOKED"
    assert app.send_task("arith.add", args=[2, 3], queue=queue).get(timeout=TIMEOUT) == 5
    assert f"arith.add[{doomed}] succeeded" not in second.log_text()


def test_statedb_corrupt_file_starts_empty(app, custom_worker, worker_kind, tmp_path):
    if worker_kind != "plugworker":
        pytest.skip("plugworker's state file format")
    queue = _queue("statedb-bad")
    db = tmp_path / "bad.state"
    db.write_bytes(b"\x00not json at all")
    w = custom_worker(queue, extra_args=["--statedb", str(db), "--without-mingle"])
    log = w.log_text()
    assert re.search(r"WARNING/MainProcess\] statedb: .*bad\.state is not a plugworker state file", log), log
    assert app.send_task("arith.add", args=[2, 2], queue=queue).get(timeout=TIMEOUT) == 4
    w.stop()
    assert json.loads(db.read_text())["format"] == "plugworker-statedb"  # replaced by a good one


def test_mingle_merges_revokes_from_a_running_node(app, custom_worker):
    a = custom_worker(_queue("mingle-a"))
    doomed = str(uuid.uuid4())
    _revoke(app, doomed, a.node)
    queue_b = _queue("mingle-b")
    b = custom_worker(queue_b)
    log_b = b.log_text()
    assert "mingle: searching for neighbors" in log_b, log_b
    assert re.search(r"mingle: sync with [1-9]\d* nodes", log_b), log_b
    assert "mingle: sync complete" in log_b
    # A answered B's hello (and logged it, as Celery does).
    wait_for(lambda: f"sync with {b.node}" in a.log_text(), 5.0, f"{a.node} to log 'sync with {b.node}'")
    assert doomed in _revoked_on(app, b.node)
    result = app.send_task("arith.add", args=[1, 2], queue=queue_b, task_id=doomed)
    with pytest.raises(TaskRevokedError):
        result.get(timeout=TIMEOUT)
    assert app.send_task("arith.add", args=[2, 3], queue=queue_b).get(timeout=TIMEOUT) == 5


def test_without_mingle_does_not_sync(app, custom_worker, worker_kind):
    a = custom_worker(_queue("nomingle-a"), extra_args=["--without-mingle", "--without-gossip"])
    doomed = str(uuid.uuid4())
    _revoke(app, doomed, a.node)
    b = custom_worker(_queue("nomingle-b"), extra_args=["--without-mingle", "--without-gossip"])
    assert "mingle:" not in b.log_text()
    assert doomed not in _revoked_on(app, b.node)


def test_mingle_with_the_python_worker_both_ways(app, custom_worker, worker_kind, tmp_path):
    """plugworker A revokes X; the stand-in Celery worker C starts and gets X
    from A; C revokes Y; plugworker B starts and gets X and Y."""
    if worker_kind != "plugworker":
        pytest.skip("plugworker next to the Python worker")
    a = custom_worker(_queue("mix-a"))
    x, y = str(uuid.uuid4()), str(uuid.uuid4())
    _revoke(app, x, a.node)
    queue_c = _queue("mix-c")
    c = harness.WorkerProcess("celery", name=f"it-{uuid.uuid4().hex[:8]}", queue=queue_c, concurrency=1,
                              log_path=tmp_path / "celery-worker.log")
    try:
        c.start().wait_ready(30)
        assert re.search(r"mingle: sync with [1-9]\d* nodes", c.log_text()), c.log_text()
        wait_for(lambda: f"sync with {c.node}" in a.log_text(), 5.0, f"{a.node} to log 'sync with {c.node}'")
        assert x in _revoked_on(app, c.node)
        _revoke(app, y, c.node)
        b = custom_worker(_queue("mix-b"))
        assert re.search(r"mingle: sync with ([2-9]|[1-9]\d+) nodes", b.log_text()), b.log_text()
        revoked = _revoked_on(app, b.node)
        assert x in revoked and y in revoked, revoked
    finally:
        c.stop()
        with Connection(harness.broker_url()) as conn:
            conn.default_channel.queue_delete(queue_c)
            conn.default_channel.exchange_delete(queue_c)


def test_statedb_saved_while_running(app, custom_worker, worker_kind, tmp_path):
    """plugworker saves within a second of a revoke, so a worker killed with
    SIGKILL (no shutdown, no save at exit) still has it after a restart.
    Celery saves only at exit."""
    if worker_kind != "plugworker":
        pytest.skip("Celery saves its state db only at exit")
    queue = _queue("statedb-kill")
    db = tmp_path / "killed.state"
    args = ["--statedb", str(db), "--without-mingle"]
    first = custom_worker(queue, extra_args=args)
    doomed = str(uuid.uuid4())
    _revoke(app, doomed, first.node)
    wait_for(lambda: db.exists() and doomed in db.read_text(), 5.0, "the state file to list the id")
    first.proc.kill()
    first.stop()
    second = custom_worker(queue, extra_args=args)
    assert app.control.inspect(destination=[second.node], timeout=2).conf()[second.node]["worker_state_db"] == str(db)
    result = app.send_task("arith.add", args=[1, 2], queue=queue, task_id=doomed)
    with pytest.raises(TaskRevokedError):
        result.get(timeout=TIMEOUT)


def _elect(app, election_id: str, ack_queue: str):
    """Publishes a Python worker's `worker-elect` event (as gossip.election
    does) from a fake node, with a queue bound to the acks first."""
    from kombu import Exchange, Producer, Queue
    with Connection(harness.broker_url()) as conn:
        channel = conn.default_channel
        exchange = Exchange("celeryev", type="topic", durable=True)
        Queue(ack_queue, exchange=exchange, routing_key="worker.elect.ack", auto_delete=True,
              durable=False)(channel).declare()
        Producer(channel).publish(
            {"type": "worker-elect", "hostname": "fake@elsewhere", "timestamp": time.time(),
             "utcoffset": 0, "pid": 1, "clock": 1, "id": election_id, "topic": "task",
             "action": None, "cver": 1},
            exchange=exchange, routing_key="worker.elect", serializer="json",
            headers={"hostname": "fake@elsewhere"}, declare=[exchange])


def _acks_from(node: str, ack_queue: str, election_id: str, wait: float) -> list:
    acks = []
    deadline = time.monotonic() + wait
    with Connection(harness.broker_url()) as conn:
        channel = conn.default_channel
        while time.monotonic() < deadline:
            message = channel.basic_get(ack_queue, no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            event = json.loads(message.body)
            if event.get("hostname") == node and event.get("id") == election_id:
                acks.append(event)
                break
        channel.queue_delete(ack_queue)
    return acks


@pytest.mark.parametrize("gossip", [True, False], ids=["gossip", "without-gossip"])
def test_gossip_acknowledges_elections(app, custom_worker, gossip):
    """A Python worker's election waits for a worker-elect-ack from every
    live worker: the worker answers one (not with --without-gossip)."""
    w = custom_worker(_queue("gossip"), extra_args=["--without-mingle"] + ([] if gossip else ["--without-gossip"]))
    election_id = str(uuid.uuid4())
    ack_queue = f"it-acks-{uuid.uuid4().hex[:8]}"
    _elect(app, election_id, ack_queue)
    acks = _acks_from(w.node, ack_queue, election_id, wait=3 if gossip else 1.5)
    if gossip:
        assert acks and acks[0]["type"] == "worker-elect-ack" and isinstance(acks[0]["clock"], int), acks
    else:
        assert acks == []
