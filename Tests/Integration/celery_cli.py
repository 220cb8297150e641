"""The stock ``celery`` command line as the tests run it, and a worker of their
own for a test module (test_control.py, test_flower.py).

``celery`` runs as ``<this python> -m celery -A cli_app -b <broker> ...`` with
``stand_in/`` on PYTHONPATH (``stand_in/cli_app.py`` is an app with no tasks),
so it is the Celery installed in the venv that runs pytest.

With ``--json`` the CLI prints ``inspect`` replies as one object
``{node: payload}`` and ``control`` replies as a list of one-key objects
``[{node: payload}]``; ``inspect()`` and ``control()`` return the payload of
the one node asked.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import harness

CLI_TIMEOUT = 5.0  # -t: seconds the CLI waits for replies (it stops at the first with -d)
EX_UNAVAILABLE = 69  # "No nodes replied within time constraint"


@dataclass
class CLIResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def json(self):
        try:
            return json.loads(self.stdout)
        except ValueError as exc:
            raise AssertionError(f"not JSON from {' '.join(self.argv)} (exit {self.returncode}): "
                                 f"{exc}\nstdout: {self.stdout!r}\nstderr: {self.stderr[-2000:]}")


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(harness.STAND_IN_DIR), e.get("PYTHONPATH")]))
    e.setdefault("CELERY_BROKER_URL", harness.broker_url())
    return e


def celery_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "cli_app", "-b", harness.broker_url(), *args]


def run_celery(*args: str, timeout: float = 60.0) -> CLIResult:
    argv = celery_argv(*args)
    started = time.monotonic()
    done = subprocess.run(argv, env=env(), cwd=harness.STAND_IN_DIR, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    return CLIResult(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def _payload(result: CLIResult, node: str):
    assert result.returncode == 0, (
        f"{' '.join(result.argv[3:])}: exit status {result.returncode}\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr[-2000:]}")
    replies = result.json()
    if isinstance(replies, list):  # control: [{node: payload}, ...]
        merged = {}
        for item in replies:
            merged.update(item)
        replies = merged
    assert list(replies) == [node], f"expected a reply from {node} only, got {replies!r}"
    return replies[node]


def inspect(command: str, *args: str, node: str, timeout: float = CLI_TIMEOUT):
    """`celery inspect COMMAND ARGS -d NODE --json`: NODE's payload."""
    return _payload(run_celery("inspect", command, *args, "-d", node, "-t", str(timeout), "--json"), node)


def control(command: str, *args: str, node: str, timeout: float = CLI_TIMEOUT):
    """`celery control COMMAND ARGS -d NODE --json`: NODE's payload."""
    return _payload(run_celery("control", command, *args, "-d", node, "-t", str(timeout), "--json"), node)


def wait_for_control(app, node: str, timeout: float = 15.0) -> float:
    """Waits until NODE answers a ping through its mailbox (the ready line
    may come before the Control step consumes); returns the seconds waited."""
    started = time.monotonic()
    while True:
        replies = app.control.ping(destination=[node], timeout=0.5) or []
        if any(node in r for r in replies):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{node} answered no ping within {timeout:g} s")


def start_worker(kind: str, log_dir: Path, *, concurrency: int = 1, extra_args=()) -> harness.WorkerProcess:
    """A private worker of `kind` on a queue of its own (`proc.queue`), ready."""
    name = f"it-{uuid.uuid4().hex[:8]}"
    queue = f"it-{uuid.uuid4().hex[:12]}"
    proc = harness.WorkerProcess(kind, name=name, queue=queue, concurrency=concurrency,
                                 log_path=Path(log_dir) / f"worker-{kind}-{name}.log",
                                 extra_args=list(extra_args))
    proc.start()
    try:
        proc.wait_ready(30)
    except harness.WorkerNotReady:
        proc.stop()
        raise
    return proc


@contextlib.contextmanager
def running_worker(kind: str, app, log_dir: Path, *, concurrency: int = 1, extra_args=()):
    """A worker started with start_worker, answering remote control; stopped
    and its queue deleted on leaving the block."""
    proc = start_worker(kind, log_dir, concurrency=concurrency, extra_args=extra_args)
    try:
        wait_for_control(app, proc.node)
        yield proc
    finally:
        proc.stop()
        delete_queues(proc.queue)


def delete_queues(*queues: str) -> None:
    """Removes queues and the same-named exchanges the client declared."""
    from kombu import Connection
    try:
        with Connection(harness.broker_url()) as conn:
            channel = conn.channel()
            for q in queues:
                channel.queue_delete(q)
                channel.exchange_delete(q)
    except Exception as exc:  # cleanup only
        print(f"note: could not delete queues {queues}: {exc}")
