"""Pool limits through the real broker, the real worker and the stock Celery
client: --max-tasks-per-child, --max-memory-per-child, --autoscale (with the
autoscale control command and TTIN/TTOU), and the worker-wide
--time-limit / --soft-time-limit.

Each test starts a private worker (``custom_worker``) with the example
plugins and ``libpoollimits.so`` (Tests/Fixtures/Plugins/poollimits.c,
built here with plain cc: ``poollimits.pid`` returns the pool process's
pid, ``poollimits.hog`` makes it keep N MiB resident), on its own queue.

Only plugworker has the fixture plugin: with PLUGWORKER_TEST_WORKER=celery
the tests are skipped.
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from pathlib import Path

import pytest

import harness
from harness import wait_for

TIMEOUT = 20


@pytest.fixture(autouse=True)
def _plugworker_only(worker_kind):
    if worker_kind != "plugworker":
        pytest.skip("the poollimits fixture plugin exists only for plugworker")


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    """A private directory with libpoollimits.so, built with plain cc."""
    return harness.build_fixture_plugin("poollimits", tmp_path_factory.mktemp("poollimits-plugin"))


@pytest.fixture
def start(custom_worker, plugin_dir):
    """start(*extra_args, concurrency=1) -> (worker, queue name)."""
    def _start(*extra_args, concurrency: int = 1):
        queue = f"it-pl-{uuid.uuid4().hex[:10]}"
        proc = custom_worker(queue, concurrency=concurrency,
                             extra_args=["--plugins", str(plugin_dir), *extra_args])
        return proc, queue
    return _start


def stats(client, node) -> dict:
    reply = (client.control.inspect(destination=[node], timeout=2).stats() or {}).get(node)
    assert reply, f"no stats from {node}"
    return reply


def run(client, queue, name, *args, **options):
    return client.send_task(name, args=list(args), queue=queue, **options).get(timeout=TIMEOUT)


# ---- --max-tasks-per-child -------------------------------------------------------


def test_max_tasks_per_child_replaces_the_process(start, client):
    """-c 1, two tasks per process: the pid changes every second task."""
    proc, queue = start("--max-tasks-per-child", "2")
    pids = [run(client, queue, "poollimits.pid") for _ in range(5)]
    assert pids[0] == pids[1] and pids[2] == pids[3], pids
    assert len({pids[0], pids[2], pids[4]}) == 3, pids
    assert re.search(r"has run 2 tasks \(--max-tasks-per-child 2\): replacing it", proc.log_text())
    s = stats(client, proc.node)
    assert s["pool"]["max-tasks-per-child"] == 2
    conf = client.control.inspect(destination=[proc.node], timeout=2).conf()[proc.node]
    assert conf["worker_max_tasks_per_child"] == 2


def test_max_tasks_per_child_burst_loses_nothing(start, client):
    """A burst (some pipelined): every task runs once, no process runs more than 2."""
    proc, queue = start("--max-tasks-per-child", "2", concurrency=2)
    results = [client.send_task("poollimits.pid", queue=queue) for _ in range(16)]
    pids = [r.get(timeout=TIMEOUT) for r in results]
    counts = {pid: pids.count(pid) for pid in pids}
    assert max(counts.values()) <= 2, counts
    assert len(counts) >= 8, counts
    assert "WorkerLostError" not in proc.log_text()


# ---- --max-memory-per-child --------------------------------------------------------


def test_max_memory_per_child_replaces_the_process(start, client):
    """Over 150 MiB resident after a task: replaced; a small task is not."""
    proc, queue = start("--max-memory-per-child", str(150 * 1024))
    first = run(client, queue, "poollimits.pid")
    assert run(client, queue, "poollimits.pid") == first, "a small task replaced the process"
    hog = run(client, queue, "poollimits.hog", 200)
    assert hog == first
    after = run(client, queue, "poollimits.pid")
    assert after != hog, "the process over the limit was not replaced"
    log = proc.log_text()
    assert re.search(r"child process exiting after exceeding memory limit \(\d+KiB / 153600KiB\)", log), log[-3000:]
    assert "replacing it with a new process" in log
    # The replacement started clean: a small task keeps it.
    assert run(client, queue, "poollimits.pid") == after
    conf = client.control.inspect(destination=[proc.node], timeout=2).conf()[proc.node]
    assert conf["worker_max_memory_per_child"] == 150 * 1024


# ---- --autoscale -----------------------------------------------------------------------


def test_autoscale_grows_under_load_and_shrinks_when_idle(start, client):
    proc, queue = start("--autoscale", "3,1", "--autoscale-keepalive", "1", concurrency=5)
    s = stats(client, proc.node)
    assert len(s["pool"]["processes"]) == 1, "with --autoscale the pool starts at min (-c ignored)"
    assert s["autoscaler"]["max"] == 3 and s["autoscaler"]["min"] == 1, s["autoscaler"]
    assert s["prefetch_count"] == 3 * 4, "the prefetch follows the maximum"
    results = [client.send_task("arith.sleep", args=[1.5], queue=queue) for _ in range(6)]
    wait_for(lambda: len(stats(client, proc.node)["pool"]["processes"]) == 3, 5, "the pool never grew to 3")
    for r in results:
        r.get(timeout=TIMEOUT)
    assert "Scaling up" in proc.log_text()
    wait_for(lambda: len(stats(client, proc.node)["pool"]["processes"]) == 1, 6, "the pool never shrank back to 1")
    assert "Scaling down" in proc.log_text()

    # The control command, as Celery answers it.
    reply = client.control.autoscale(2, 1, destination=[proc.node], reply=True, timeout=2)
    assert reply == [{proc.node: {"ok": "autoscale now max=2 min=1"}}]
    assert stats(client, proc.node)["autoscaler"]["max"] == 2
    reply = client.control.pool_grow(1, destination=[proc.node], reply=True, timeout=2)
    assert reply == [{proc.node: {"error": "pool_grow is not supported with autoscale. Adjust autoscale range instead."}}]


def test_autoscale_ttin_ttou_move_the_limits(start, client):
    """TTIN at the maximum raises it; TTOU at the minimum lowers it."""
    proc, queue = start("--autoscale", "2,1", "--autoscale-keepalive", "60")
    os.kill(proc.proc.pid, signal.SIGTTIN)
    wait_for(lambda: len(stats(client, proc.node)["pool"]["processes"]) == 2, 5, "TTIN did not grow the pool")
    os.kill(proc.proc.pid, signal.SIGTTIN)
    s = wait_for(lambda: (s := stats(client, proc.node)) and len(s["pool"]["processes"]) == 3 and s, 5,
                 "TTIN at the maximum did not grow the pool")
    assert s["autoscaler"]["max"] == 3, s["autoscaler"]
    for _ in range(3):
        os.kill(proc.proc.pid, signal.SIGTTOU)
        time.sleep(0.1)
    s = wait_for(lambda: (s := stats(client, proc.node)) and len(s["pool"]["processes"]) == 0 and s, 5,
                 "TTOU did not shrink the pool")
    assert s["autoscaler"]["min"] == 0, s["autoscaler"]
    # Work brings a process back (min 0, max 3).
    assert run(client, queue, "arith.add", 2, 3) == 5


def test_pool_grow_and_shrink_move_the_prefetch(start, client):
    """Without --autoscale, as Celery: the prefetch count follows the pool."""
    proc, queue = start("--prefetch-multiplier", "2")
    assert stats(client, proc.node)["prefetch_count"] == 2
    assert client.control.pool_grow(2, destination=[proc.node], reply=True, timeout=2) == [{proc.node: {"ok": "pool will grow"}}]
    wait_for(lambda: stats(client, proc.node)["prefetch_count"] == 6, 3, "pool_grow did not raise the prefetch")
    os.kill(proc.proc.pid, signal.SIGTTOU)
    wait_for(lambda: stats(client, proc.node)["prefetch_count"] == 4, 3, "TTOU did not lower the prefetch")
    assert run(client, queue, "arith.add", 2, 3) == 5


# ---- --time-limit / --soft-time-limit ------------------------------------------------


def test_worker_time_limits(start, client):
    """Worker-wide limits for tasks with none of their own: the soft one
    first (arith.sleep is interrupted and fails with SoftTimeLimitExceeded,
    as a Python task would), the hard one when the message's own soft limit
    is longer (the process is killed: TimeLimitExceeded); the message's
    limits win over the worker's, and the worker goes on."""
    proc, queue = start("--time-limit", "1", "--soft-time-limit", "0.5")
    assert stats(client, proc.node)["pool"]["timeouts"] == [0.5, 1]
    conf = client.control.inspect(destination=[proc.node], timeout=2).conf()[proc.node]
    assert conf["task_time_limit"] == 1 and conf["task_soft_time_limit"] == 0.5

    began = time.monotonic()
    with pytest.raises(Exception) as info:
        run(client, queue, "arith.sleep", 2)
    assert type(info.value).__name__ == "SoftTimeLimitExceeded", repr(info.value)
    assert 0.4 < time.monotonic() - began < 1.5

    began = time.monotonic()
    with pytest.raises(Exception) as info:
        run(client, queue, "arith.sleep", 2, soft_time_limit=5)
    assert type(info.value).__name__ == "TimeLimitExceeded", repr(info.value)
    assert time.monotonic() - began < 1.9, "the hard limit did not stop the task"
    assert re.search(r"Hard time limit \(1(\.0)?s\) exceeded for arith\.sleep", proc.log_text())

    assert run(client, queue, "arith.add", 2, 3) == 5
    assert run(client, queue, "arith.sleep", 1.2, time_limit=5, soft_time_limit=4) is None
