"""Hot plugins, through the real worker, a real broker and a stock Celery
client: a plugin copied into a plugin directory of a running, busy worker
is registered and runs; replaced by another build, new calls run the new
code while a call already running finishes on the old; removed, its tasks
are unknown (NotRegistered); a broken file is refused and listed with its
error by ``inspect plugins``; SIGHUP reloads the pool. All the while a background thread streams
``arith.add`` tasks, and every one of them must be answered, correctly,
exactly once.

The test starts its own worker (``custom_worker``) with a second, private
plugin directory (``--plugins <tmp>``, besides the repository's
``Plugins``), and builds ``Tests/Fixtures/Plugins/hotswap.c`` twice, as
version 1 and version 2, with ``cc``.

Only plugworker has hot plugins: with PLUGWORKER_TEST_WORKER=celery the
test is skipped.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from celery.exceptions import NotRegistered

import harness
from harness import wait_for

TASK_TIMEOUT = 15      # seconds for one result
HOT_TIMEOUT = 1.5      # seconds from a file landing to its tasks being listed (target: 1 s)
SLOW_SECONDS = 3.0     # the in-flight task that must finish on the old code

FIXTURE = harness.REPO_ROOT / "Tests" / "Fixtures" / "Plugins" / "hotswap.c"
INCLUDE = harness.REPO_ROOT / "Sources" / "CPlugworker" / "include"


@pytest.fixture(autouse=True)
def _plugworker_only(worker_kind):
    if worker_kind != "plugworker":
        pytest.skip("hot plugins exist only in plugworker")


def build_hotswap(out: Path, version: int) -> Path:
    """Builds hotswap.c as `version` into `out` (outside the plugin directory)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([os.environ.get("CC", "cc"), "-std=c11", "-O2", "-shared", "-fPIC", "-fvisibility=hidden",
                    f"-I{INCLUDE}", f"-DHOTSWAP_VERSION={version}", str(FIXTURE), "-o", str(out)],
                   check=True)
    return out


def install(source: Path, target: Path) -> None:
    """Puts `source` at `target` as a new inode, atomically (write elsewhere
    in the directory, then rename), as `install` or a careful deploy does."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:6]}.tmp")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)


class Stream(threading.Thread):
    """Sends arith.add(i, 1000) in batches of 4 and collects every answer,
    with its own client (Celery clients are not shared across threads)."""

    def __init__(self, broker_url: str, queue: str):
        super().__init__(daemon=True)
        self.app = Celery("plugworker-it-hot-stream", broker=broker_url, backend="rpc://")
        self.queue = queue
        self.stop_flag = threading.Event()
        self.sent: dict[str, int] = {}                 # task id -> i
        self.answers: dict[str, object] = {}           # task id -> result or exception
        self.error: BaseException | None = None

    def run(self):
        i = 0
        try:
            while not self.stop_flag.is_set():
                batch = []
                for _ in range(4):
                    r = self.app.send_task("arith.add", args=[i, 1000], queue=self.queue)
                    self.sent[r.id] = i
                    batch.append(r)
                    i += 1
                for r in batch:
                    try:
                        self.answers[r.id] = r.get(timeout=TASK_TIMEOUT)
                    except Exception as exc:  # recorded, checked by the test
                        self.answers[r.id] = exc
                time.sleep(0.01)
        except BaseException as exc:
            self.error = exc
        finally:
            self.app.close()

    def finish(self) -> None:
        self.stop_flag.set()
        self.join(TASK_TIMEOUT * 5)
        assert not self.is_alive(), "the stream did not finish"
        assert self.error is None, f"the stream failed: {self.error!r}"


def registered(app, node: str) -> list[str]:
    replies = app.control.inspect(destination=[node], timeout=0.5).registered() or {}
    return [name.split(" ")[0] for name in replies.get(node, [])]


def plugins_listing(app, node: str) -> list[dict]:
    replies = app.control.broadcast("plugins", reply=True, destination=[node], timeout=2)
    for reply in replies:
        if node in reply:
            return reply[node]
    pytest.fail(f"no reply to the plugins command from {node}: {replies}")


def call(app, queue: str, name: str, *args, timeout: float = TASK_TIMEOUT):
    return app.send_task(name, args=list(args), queue=queue).get(timeout=timeout)


def test_hot_add_replace_remove_refuse_under_load(app, custom_worker, broker_url, tmp_path):
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir(mode=0o700)
    v1 = build_hotswap(tmp_path / "build" / "v1" / "libhotswap.so", 1)
    v2 = build_hotswap(tmp_path / "build" / "v2" / "libhotswap.so", 2)
    queue = f"it-hot-{uuid.uuid4().hex[:8]}"
    proc = custom_worker(queue, concurrency=3, extra_args=["--plugins", str(plugin_dir)])
    node = proc.node
    target = plugin_dir / "libhotswap.so"

    stream = Stream(broker_url, queue)
    stream.start()
    try:
        wait_for(lambda: len(stream.answers) >= 20, TASK_TIMEOUT, "the stream to get going")
        assert "hotswap.version" not in registered(app, node)

        # (1) New: plain copy (CREATE, then CLOSE_WRITE) into the directory.
        started = time.monotonic()
        shutil.copyfile(v1, target)
        wait_for(lambda: "hotswap.version" in registered(app, node), HOT_TIMEOUT,
                 "registered to list hotswap.version after the copy")
        listed_after = time.monotonic() - started
        assert call(app, queue, "hotswap.version") == 1
        assert proc.alive()

        # (2) Replace, while a v1 call is running: new calls get 2, the
        # running one finishes on v1.
        slow = app.send_task("hotswap.slow_version", args=[SLOW_SECONDS], queue=queue)

        def slow_running():
            active = app.control.inspect(destination=[node], timeout=0.5).active() or {}
            return any(t.get("id") == slow.id for t in active.get(node, []))
        wait_for(slow_running, 5, "the slow v1 call to be running")
        install(v2, target)
        wait_for(lambda: call(app, queue, "hotswap.version", timeout=5) == 2, 5,
                 "hotswap.version to return the new build's 2")
        assert slow.get(timeout=TASK_TIMEOUT) == 1, "the call running during the replace must finish on v1"
        assert call(app, queue, "hotswap.slow_version", 0) == 2

        # (2b) Overwritten in place (same inode, as `cp v1 target` does): the
        # worker runs private copies, so nothing running is touched; the v1
        # module loaded before comes back (its init does not run again).
        shutil.copyfile(v1, target)
        wait_for(lambda: call(app, queue, "hotswap.version", timeout=5) == 1, 5,
                 "hotswap.version to return 1 again after the in-place overwrite")

        # (3) Remove: the tasks are unregistered, then refused as unknown.
        target.unlink()
        wait_for(lambda: "hotswap.version" not in registered(app, node), HOT_TIMEOUT,
                 "registered to drop hotswap.version after the removal")
        with pytest.raises(NotRegistered):
            call(app, queue, "hotswap.version")

        # (4) A broken file: refused, the worker carries on, inspect plugins says why.
        broken = plugin_dir / "libbroken.so"
        broken.write_text("not a shared object\n")

        def refused():
            return [p for p in plugins_listing(app, node) if p["status"] == "refused"]
        entries = wait_for(refused, 3, "inspect plugins to list libbroken.so as refused")
        assert entries[0]["path"] == str(broken)
        assert entries[0]["error"]["code"] == "PW102"
        assert "not a shared object" in entries[0]["error"]["message"]
        assert entries[0]["error"]["detail"] and entries[0]["error"]["hint"]
        assert proc.alive()
        assert call(app, queue, "arith.add", 2, 3) == 5

        listing = plugins_listing(app, node)
        hot = [(p["version"], p["status"]) for p in listing if p["name"] == "hotswap"]
        assert hot == [("2", "replaced"), ("1", "removed")], listing
        arith = next(p for p in listing if p["name"] == "arith")
        assert arith["status"] == "loaded" and "arith.add" in arith["tasks"]

        # The same listing through the CLI.
        cli = subprocess.run([str(harness.plugworker_binary()), "inspect", "plugins", "--json", "-d", node,
                              "--timeout", "2"], capture_output=True, text=True, timeout=30,
                             env={**os.environ, "CELERY_BROKER_URL": broker_url})
        assert cli.returncode == 0, cli.stderr
        statuses = {(p["name"], p["status"]) for p in json.loads(cli.stdout)[node]}
        assert ("broken", "refused") in statuses and ("arith", "loaded") in statuses

        # (5) SIGHUP reloads the pool the same way (new processes, the old
        # ones finish what they hold), still under the stream.
        os.kill(proc.proc.pid, signal.SIGHUP)
        wait_for(lambda: "pool: reloading (SIGHUP)" in proc.log_text(), 5, "the SIGHUP reload")

        # The stream carries on after all of it.
        answered = len(stream.answers)
        wait_for(lambda: len(stream.answers) >= answered + 40, TASK_TIMEOUT, "more streamed answers")
    finally:
        stream.finish()

    # Every streamed task answered, correctly.
    assert len(stream.sent) > 40
    wrong = {tid: ans for tid, ans in stream.answers.items() if ans != stream.sent[tid] + 1000}
    assert not wrong, f"{len(wrong)} streamed tasks failed or answered wrongly: {list(wrong.items())[:5]}"
    assert set(stream.answers) == set(stream.sent)
    # ... and run exactly once (no task lost to a recycled process, none run twice).
    log = proc.log_text()
    runs = collections.Counter(re.findall(r"Task arith\.add\[([0-9a-f-]+)\] succeeded", log))
    twice = {tid: n for tid, n in runs.items() if n != 1}
    assert not twice, f"tasks run more than once: {twice}"
    assert all(runs[tid] == 1 for tid in stream.sent), "a streamed task has no success line"
    assert "plugins: loaded libhotswap.so (hotswap 1)" in log
    assert "plugins: replaced libhotswap.so (hotswap 1 → hotswap 2)" in log
    assert "plugins: replaced libhotswap.so (hotswap 2 → hotswap 1)" in log
    assert "plugins: removed libhotswap.so (hotswap 1)" in log
    assert re.search(r"ERROR/MainProcess\] plugins: refused .*libbroken\.so.*PW102", log)
    assert "Traceback" not in log and "exited on signal" not in log and "WorkerLostError" not in log
    print(f"\nhotswap.version listed {listed_after:.2f} s after the copy; "
          f"{len(stream.sent)} streamed tasks, each answered once")


def test_no_hot_plugins_flag(app, custom_worker, tmp_path):
    """--no-hot-plugins: the Autoreloader step is off; a new file is ignored."""
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir(mode=0o700)
    v1 = build_hotswap(tmp_path / "build" / "libhotswap.so", 1)
    queue = f"it-hot-{uuid.uuid4().hex[:8]}"
    proc = custom_worker(queue, concurrency=1, extra_args=["--plugins", str(plugin_dir), "--no-hot-plugins"])
    shutil.copyfile(v1, plugin_dir / "libhotswap.so")
    time.sleep(1.0)
    assert "hotswap.version" not in registered(app, proc.node)
    assert "arith.add" in registered(app, proc.node)
