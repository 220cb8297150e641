"""Starting, watching and stopping the worker under test.

Shared by the integration tests (conftest.py) and the benchmark
(Benchmarks/worker/bench.py), so that both start a worker the same way and
agree on what "ready" means.

Two kinds of worker can be started:

``plugworker``
    ``<bin> --plugins Plugins -c N -n NAME@%h -l info -Q QUEUE``, run from
    the repository root. ``<bin>`` is ``$PLUGWORKER_BIN`` if set, otherwise
    ``.build/debug/plugworker``.
``celery``
    ``python -m celery -A tasks worker -c N -P prefork -n NAME@%h -Q QUEUE
    -l info``, run from ``Tests/Integration/stand_in`` (the Python stand-in
    with the same tasks as the plugins).

**Readiness.** A worker is ready when it prints a line that ends with
``<node> ready.`` where ``<node>`` is ``NAME@<host>`` (``NAME`` being the
part of ``-n`` before the ``@``). Celery logs exactly that at INFO level
(``[2026-11-21 13:32:48,906: INFO/MainProcess] it-1@vm ready.``); plugworker
must do the same. Standard output and standard error are read together, so
either stream will do. Readiness is not checked with a control ``ping``
because plugworker's remote control arrives later than its task path.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_PLUGINS = REPO_ROOT / "Tests" / "Fixtures" / "Plugins"
PLUGIN_INCLUDE = REPO_ROOT / "Sources" / "CPlugworker" / "include"
STAND_IN_DIR = Path(__file__).resolve().parent / "stand_in"
DEFAULT_BROKER_URL = "amqp://guest:guest@localhost:5672//"

WORKER_KINDS = ("plugworker", "celery")

# "<name>@<host> ready." at the end of a line; group 1 is the node name.
READY_RE = re.compile(r"(\S+@\S+) ready\.\s*$")


def broker_url() -> str:
    return os.environ.get("CELERY_BROKER_URL") or DEFAULT_BROKER_URL


def plugworker_binary() -> Path:
    env = os.environ.get("PLUGWORKER_BIN")
    return Path(env) if env else REPO_ROOT / ".build" / "debug" / "plugworker"


class WorkerUnavailable(RuntimeError):
    """The worker cannot be started at all (e.g. it has not been built)."""


class WorkerNotReady(RuntimeError):
    """The worker started but did not report ready (the log is in the message)."""


def worker_command(kind: str, *, name: str, queue: str, concurrency: int,
                   loglevel: str = "info", extra_args=()) -> tuple[list[str], Path]:
    """The command line and working directory for a worker of `kind`."""
    node = f"{name}@%h"
    if kind == "plugworker":
        binary = plugworker_binary()
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            raise WorkerUnavailable(
                f"plugworker binary not found at {binary}: build it first "
                f"(`swift build`, or `bash scripts/setup.sh`), or point "
                f"PLUGWORKER_BIN at it; or test the Python stand-in with "
                f"PLUGWORKER_TEST_WORKER=celery")
        cmd = [str(binary), "--plugins", "Plugins", "-c", str(concurrency),
               "-n", node, "-l", loglevel, "-Q", queue]
        cwd = REPO_ROOT
    elif kind == "celery":
        cmd = [sys.executable, "-m", "celery", "-A", "tasks", "worker",
               "-c", str(concurrency), "-P", "prefork", "-n", node,
               "-Q", queue, "-l", loglevel]
        cwd = STAND_IN_DIR
    else:
        raise ValueError(f"unknown worker kind {kind!r}; expected one of {WORKER_KINDS}")
    return cmd + list(extra_args), cwd


class WorkerProcess:
    """One worker subprocess, its merged stdout/stderr log, and its readiness.

    The worker writes straight into its log file (no pipe), so a fast worker
    never waits for this process to read its output, and the benchmark does
    not measure the harness. A thread follows the file: every millisecond
    until the ready line shows up, then every 20 ms.
    """

    def __init__(self, kind: str, *, name: str, queue: str, concurrency: int,
                 log_path: Path, loglevel: str = "info", extra_args=(),
                 env: dict | None = None):
        self.kind = kind
        self.name = name
        self.queue = queue
        self.cmd, self.cwd = worker_command(kind, name=name, queue=queue,
                                            concurrency=concurrency,
                                            loglevel=loglevel, extra_args=extra_args)
        self.log_path = Path(log_path)
        self.env = dict(os.environ if env is None else env)
        self.env.setdefault("CELERY_BROKER_URL", broker_url())
        self.env["PYTHONUNBUFFERED"] = "1"
        self.proc: subprocess.Popen | None = None
        self.node: str | None = None         # from the ready line
        self.spawned_at: float | None = None  # time.monotonic()
        self.ready_at: float | None = None    # time.monotonic() the ready line was seen
        self._lines: list[str] = []
        self._partial = b""
        self._lock = threading.Lock()       # _lines
        self._read_lock = threading.Lock()  # the log file's read side, _partial
        self._ready = threading.Event()
        self._stop_following = threading.Event()
        self._follower: threading.Thread | None = None

    # ---- lifecycle --------------------------------------------------------

    def start(self) -> "WorkerProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        header = f"# {self.kind} worker: {' '.join(self.cmd)}  (cwd {self.cwd})\n"
        with open(self.log_path, "wb") as f:
            f.write(header.encode())
        self._out = open(self.log_path, "ab")
        self._in = open(self.log_path, "rb")
        self._in.seek(len(header.encode()))
        self.spawned_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.cmd, cwd=self.cwd, env=self.env,
            stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, for the SIGKILL fallback
        )
        self._follower = threading.Thread(target=self._follow, name=f"log-{self.name}",
                                          daemon=True)
        self._follower.start()
        return self

    def _follow(self):
        while True:
            stopping = self._stop_following.is_set()
            self._read_new()
            if stopping:
                return
            self._stop_following.wait(0.001 if not self._ready.is_set() else 0.02)

    def _read_new(self):
        with self._read_lock:
            if not self._in.closed:
                self._read_new_locked()

    def _read_new_locked(self):
        chunk = self._in.read()
        if not chunk:
            return
        now = time.monotonic()
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        lines = [raw.decode("utf-8", errors="replace") + "\n" for raw in complete]
        with self._lock:
            self._lines.extend(lines)
        if not self._ready.is_set():
            prefix = f"{self.name}@"
            for line in lines:
                m = READY_RE.search(line)
                if m and m.group(1).startswith(prefix):
                    self.node = m.group(1)
                    self.ready_at = now
                    self._ready.set()
                    break

    def wait_ready(self, timeout: float = 30.0) -> str:
        """Waits for the ready line; returns the node name. Raises WorkerNotReady
        with the whole log if the worker exits or the timeout passes first."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.01):
            if self.proc.poll() is not None:
                self._read_new()  # the last lines, which may hold the ready line
                if self._ready.is_set():
                    break
                raise WorkerNotReady(
                    f"{self.kind} worker exited with status {self.proc.returncode} "
                    f"before printing '{self.name}@<host> ready.'\n"
                    f"command: {' '.join(self.cmd)}\n--- worker log ---\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise WorkerNotReady(
                    f"{self.kind} worker printed no '{self.name}@<host> ready.' line "
                    f"within {timeout:g} s\ncommand: {' '.join(self.cmd)}\n"
                    f"--- worker log ---\n{self.log_text()}")
        return self.node

    @property
    def startup_seconds(self) -> float | None:
        if self.ready_at is None or self.spawned_at is None:
            return None
        return self.ready_at - self.spawned_at

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, term_timeout: float = 10.0) -> int | None:
        """SIGTERM (warm shutdown), then SIGKILL to the whole process group
        after `term_timeout` seconds. Returns the exit status."""
        if self.proc is None:
            return None
        notes = []
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(term_timeout)
            except subprocess.TimeoutExpired:
                notes.append(f"# harness: no exit {term_timeout:g} s after SIGTERM; SIGKILL\n")
                self._killpg()
                self.proc.wait(5)
        # Pool processes left behind by the master (they are in its group).
        self._killpg()
        if self._follower is not None:
            self._stop_following.set()
            self._follower.join(5)
            self._follower = None
            with self._read_lock:
                self._in.close()
            notes.append(f"# harness: worker exited with status {self.proc.returncode}\n")
            self._out.write("".join(notes).encode())
            self._out.close()
        return self.proc.returncode

    def _killpg(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    # ---- log --------------------------------------------------------------

    def log_text(self, since: int = 0) -> str:
        """The log from line `since` on (a position from log_mark())."""
        self._read_new()  # up to date, not up to the follower's last pass
        with self._lock:
            text = "".join(self._lines[since:])
        with self._read_lock:
            partial = self._partial
        return text + partial.decode("utf-8", errors="replace")

    def log_mark(self) -> int:
        """A position in the log, for log_text(since=...)."""
        with self._lock:
            return len(self._lines)

    # ---- memory -----------------------------------------------------------

    def tree_pids(self) -> list[int]:
        return process_tree(self.proc.pid) if self.alive() else []

    def tree_rss_bytes(self) -> int:
        return sum(rss_bytes(pid) for pid in self.tree_pids())

    def tree_pss_bytes(self) -> int:
        """Proportional set size: shared pages divided among their sharers,
        so forked processes are not counted several times."""
        return sum(pss_bytes(pid) for pid in self.tree_pids())


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces and parentheses.
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# ---- the broker itself (local RabbitMQ only) --------------------------------

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
_RABBITMQCTL_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/lib/rabbitmq/bin", "/sbin")


def rabbitmqctl_path() -> str | None:
    """rabbitmqctl on PATH or in the usual sbin directories, else None."""
    import shutil
    extra = os.pathsep.join(_RABBITMQCTL_DIRS)
    return shutil.which("rabbitmqctl", path=os.environ.get("PATH", "") + os.pathsep + extra)


def broker_is_local(url: str | None = None) -> bool:
    from urllib.parse import urlsplit
    host = urlsplit(url or broker_url()).hostname or "localhost"
    return host in _LOCAL_HOSTS


def rabbitmqctl(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Runs `rabbitmqctl ARGS`; raises RuntimeError (with its output) when it fails."""
    path = rabbitmqctl_path()
    if path is None:
        raise RuntimeError("rabbitmqctl not found")
    done = subprocess.run([path, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} exited with status {done.returncode}:\n"
                           f"{done.stdout}{done.stderr}")
    return done


def broker_control_unavailable(url: str | None = None) -> str | None:
    """Why this process cannot control the broker with rabbitmqctl (restart it,
    set policies), or None when it can: the broker must be the local one and
    `rabbitmqctl status` must answer (it needs the Erlang cookie: root, or the
    rabbitmq user)."""
    url = url or broker_url()
    if not broker_is_local(url):
        return f"the broker is not local ({url.rpartition('@')[2]})"
    if rabbitmqctl_path() is None:
        return "rabbitmqctl not found"
    try:
        rabbitmqctl("status", timeout=30)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return f"rabbitmqctl cannot reach the local broker: {exc}"
    return None


def broker_answers(url: str | None = None, timeout: float = 2.0) -> bool:
    """True when an AMQP connection to the broker opens (not just its TCP port)."""
    import amqp
    from kombu import Connection
    # py-amqp directly: kombu's connect() sleeps between its retries.
    params = Connection(url or broker_url())
    try:
        with amqp.Connection(host=f"{params.hostname}:{params.port or 5672}",
                             userid=params.userid, password=params.password,
                             virtual_host=params.virtual_host or "/",
                             ssl=params.ssl or False, connect_timeout=timeout) as conn:
            conn.channel().close()  # the broker really serves
        return True
    except Exception:
        return False


def wait_for_broker(url: str | None = None, timeout: float = 90.0) -> float:
    """Waits until the broker answers; returns the seconds waited. Raises
    RuntimeError after `timeout`."""
    started = time.monotonic()
    while not broker_answers(url):
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"the broker did not answer within {timeout:g} s")
        time.sleep(0.5)
    return time.monotonic() - started


def restart_broker(url: str | None = None, timeout: float = 90.0) -> float:
    """Restarts the local RabbitMQ application (`rabbitmqctl stop_app`, then
    `start_app`), which drops every client connection; durable queues and
    exchanges, and persistent messages in them, survive. Waits until the
    broker answers AMQP again; returns the seconds it was unreachable. The
    application is started again even if stopping it failed half-way."""
    stopped_at = time.monotonic()
    try:
        rabbitmqctl("stop_app")
    finally:
        rabbitmqctl("start_app")
        try:
            rabbitmqctl("await_startup", timeout=timeout)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass  # wait_for_broker below decides
        wait_for_broker(url, timeout)
    return time.monotonic() - stopped_at


def ensure_broker_running(url: str | None = None, timeout: float = 90.0) -> None:
    """Starts the local RabbitMQ application if the broker does not answer
    (after a test that stopped it failed half-way), and waits for it."""
    if broker_answers(url):
        return
    rabbitmqctl("start_app")
    wait_for_broker(url, timeout)


def build_fixture_plugin(name: str, out: Path) -> Path:
    """Builds Tests/Fixtures/Plugins/<name>.c into out/lib<name>.so with the
    plain `cc` line a plugin author uses (warnings are errors), in a
    directory only we may write (the loader refuses others'). Returns out."""
    os.chmod(out, 0o700)
    done = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC",
                           "-fvisibility=hidden", f"-I{PLUGIN_INCLUDE}", "-o", str(out / f"lib{name}.so"),
                           str(FIXTURE_PLUGINS / f"{name}.c")], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"cc {name}.c failed:\n{done.stderr}")
    return out


def wait_for(predicate, timeout: float, what: str, describe=lambda: ""):
    """Polls predicate() every 50 ms until it returns something truthy and
    returns that; fails the test naming `what` (and describe(), e.g. a log)
    after `timeout` seconds."""
    import pytest
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{describe()}".rstrip())
        time.sleep(0.05)
