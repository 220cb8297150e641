"""Fixtures for the integration tests: a real broker, a stock Celery client,
and the worker under test running as a subprocess.

The worker is chosen with PLUGWORKER_TEST_WORKER:

    plugworker (default)   .build/debug/plugworker (or $PLUGWORKER_BIN)
    celery                 the Python stand-in in stand_in/tasks.py

Each session uses its own queue, ``it-<random>``, so stray messages from
other runs never reach this worker and this run's messages never reach
another. Every task is sent with ``app.send_task(name, args, kwargs,
queue=<that queue>)``. The broker is CELERY_BROKER_URL (default: the local
RabbitMQ, guest/guest).

When a test fails, the worker's log lines written during that test are
attached to the report (section "worker log"), with the path of the full log.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery
from kombu import Connection

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

WORKER_KIND = os.environ.get("PLUGWORKER_TEST_WORKER", "plugworker").strip() or "plugworker"
CONCURRENCY = 3
READY_TIMEOUT = 30.0

_worker_process: harness.WorkerProcess | None = None
_log_marks = pytest.StashKey[int]()


def pytest_configure(config):
    if WORKER_KIND not in harness.WORKER_KINDS:
        raise pytest.UsageError(
            f"PLUGWORKER_TEST_WORKER={WORKER_KIND!r}: expected one of {', '.join(harness.WORKER_KINDS)}")
    config.addinivalue_line(
        "markers", "broker_restart: the test restarts the broker; run after every other test")


def pytest_collection_modifyitems(session, config, items):
    """Tests that restart the broker run last, so that no other test (nor the
    session's worker and client, which may be started later) sees the restart."""
    restarts = [item for item in items if item.get_closest_marker("broker_restart")]
    if restarts:
        items[:] = [item for item in items if item not in restarts] + restarts


def pytest_report_header(config):
    return [f"worker under test: {WORKER_KIND} (PLUGWORKER_TEST_WORKER)",
            f"broker: {_masked(harness.broker_url())}"]


def _masked(url: str) -> str:
    # amqp://user:pass@host -> amqp://user:**@host
    head, sep, tail = url.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, creds = head.partition("//")
    user = creds.split(":", 1)[0]
    return f"{scheme}//{user}:**@{tail}"


# ---- session-wide objects -------------------------------------------------


@pytest.fixture(scope="session")
def worker_kind() -> str:
    return WORKER_KIND


@pytest.fixture(scope="session")
def broker_url() -> str:
    return harness.broker_url()


@pytest.fixture(scope="session")
def queue_name() -> str:
    return f"it-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def app(broker_url):
    """A stock Celery client: the broker, results through rpc://."""
    client = Celery("plugworker-it-client", broker=broker_url, backend="rpc://")
    client.conf.broker_connection_retry_on_startup = True
    yield client
    client.close()


@pytest.fixture
def client(broker_url):
    """A stock Celery client of the test's own (rpc:// results), for tests
    whose result consumers must not see other tests' replies."""
    app = Celery("plugworker-it-private", broker=broker_url, backend="rpc://")
    app.conf.broker_connection_retry_on_startup = True
    yield app
    app.close()


@pytest.fixture(scope="session")
def worker(worker_kind, queue_name, broker_url, tmp_path_factory):
    """The running worker under test (a harness.WorkerProcess), ready."""
    global _worker_process
    name = f"it-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path_factory.getbasetemp() / f"worker-{worker_kind}-{name}.log"
    # Without a worker no test can run: stop the whole session with one
    # clear message (and the worker's log) rather than 30 identical errors.
    try:
        proc = harness.WorkerProcess(worker_kind, name=name, queue=queue_name,
                                     concurrency=CONCURRENCY, log_path=log_path)
    except harness.WorkerUnavailable as exc:
        pytest.exit(f"cannot start the worker under test: {exc}", returncode=1)
    proc.start()
    _worker_process = proc
    failure = None
    try:
        proc.wait_ready(READY_TIMEOUT)
    except harness.WorkerNotReady as exc:
        failure = str(exc)
    if failure is not None:
        proc.stop()
        _worker_process = None
        _delete_queue(broker_url, queue_name)
        pytest.exit(f"the worker under test did not start: {failure}", returncode=1)
    yield proc
    _worker_process = None
    status = proc.stop()
    print(f"\n{worker_kind} worker {proc.node} stopped (status {status}); log: {log_path}")
    _delete_queue(broker_url, queue_name)


def _delete_queue(url: str, queue: str) -> None:
    """Removes the session's queue and the exchange the client declared for it."""
    try:
        with Connection(url) as conn:
            channel = conn.channel()
            channel.queue_delete(queue)
            channel.exchange_delete(queue)
    except Exception as exc:  # cleanup only: never fail the run for it
        print(f"note: could not delete queue {queue}: {exc}")


@pytest.fixture
def worker_factory(worker_kind, broker_url, tmp_path_factory):
    """start(queue) -> a second, private worker of the same kind on `queue`,
    ready; stopped (and its queue deleted) at the end of the test. For the
    cases that may take a worker down."""
    started = []

    def _start(queue: str) -> harness.WorkerProcess:
        name = f"it-{uuid.uuid4().hex[:8]}"
        log_path = tmp_path_factory.getbasetemp() / f"worker-{worker_kind}-{name}.log"
        proc = harness.WorkerProcess(worker_kind, name=name, queue=queue,
                                     concurrency=CONCURRENCY, log_path=log_path)
        started.append(proc)
        proc.start().wait_ready(READY_TIMEOUT)
        return proc

    yield _start
    for proc in started:
        proc.stop()
        _delete_queue(broker_url, proc.queue)


_custom_workers = pytest.StashKey[list]()
_report_files = pytest.StashKey[list]()


@pytest.fixture
def custom_worker(request, worker_kind, broker_url, tmp_path_factory):
    """start(queue, *, env=None, extra_args=(), concurrency=3, queues=(), wait=True)
    -> a private worker of the session's kind on `queue`, ready (unless
    wait=False), with `env` added to this process's environment and
    `extra_args` appended to its command line (e.g. ["--plugins", DIR]).
    Stopped at the end of the test (stop() may be called earlier, it is
    idempotent); `queue` and the extra `queues` are deleted then. A failing
    test's report has the log of each such worker attached."""
    started = []
    to_delete = []
    request.node.stash[_custom_workers] = started

    def _start(queue: str, *, env: dict | None = None, extra_args=(),
               concurrency: int = CONCURRENCY, queues=(), wait: bool = True):
        name = f"it-{uuid.uuid4().hex[:8]}"
        log_path = tmp_path_factory.getbasetemp() / f"worker-{worker_kind}-{name}.log"
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = harness.WorkerProcess(worker_kind, name=name, queue=queue,
                                     concurrency=concurrency, log_path=log_path,
                                     extra_args=list(extra_args), env=full_env)
        started.append(proc)
        to_delete.extend([queue, *queues])
        proc.start()
        if wait:
            proc.wait_ready(READY_TIMEOUT)
        return proc

    yield _start
    for proc in started:
        proc.stop()
    for queue in to_delete:
        _delete_queue(broker_url, queue)


@pytest.fixture
def report_file(request):
    """report_file(label, path): attach the file's contents (its last 300
    lines) to the report if the test fails."""
    files = request.node.stash.setdefault(_report_files, [])

    def _add(label: str, path) -> None:
        files.append((label, Path(path)))
    return _add


@pytest.fixture
def send(app, worker, queue_name):
    """send(name, args=(), kwargs=None, **options) -> AsyncResult, routed to
    the session's queue."""
    def _send(name, args=(), kwargs=None, **options):
        return app.send_task(name, args=list(args), kwargs=kwargs or {},
                             queue=queue_name, **options)
    return _send


@pytest.fixture
def raw_channel(broker_url):
    """A bare py-amqp channel (no Celery), for publishing hand-made messages."""
    with Connection(broker_url) as conn:
        conn.connect()
        channel = conn.connection.channel()  # py-amqp's Channel
        yield channel
        try:
            channel.close()
        except Exception:
            pass


# ---- worker log on failure ------------------------------------------------


def pytest_runtest_setup(item):
    if _worker_process is not None:
        item.stash[_log_marks] = _worker_process.log_mark()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    proc = _worker_process
    if report.failed and proc is not None:
        since = item.stash.get(_log_marks, 0)
        lines = proc.log_text(since).splitlines()
        if len(lines) > 300:
            lines = [f"... ({len(lines) - 300} earlier lines in the full log)"] + lines[-300:]
        alive = "running" if proc.alive() else f"EXITED with status {proc.proc.returncode}"
        report.sections.append((
            f"worker log ({proc.kind} {proc.node}, {alive}; full log: {proc.log_path})",
            "\n".join(lines) or "(no output during this test)"))
    if report.failed:
        for extra in item.stash.get(_custom_workers, ()):
            _attach(report, f"log of private worker {extra.kind} {extra.node or extra.name} "
                    f"({_status(extra)}; full log: {extra.log_path})",
                    extra.log_text() if extra.proc is not None else "(not started)")
        for label, path in item.stash.get(_report_files, ()):
            try:
                text = path.read_text(errors="replace")
            except OSError as exc:
                text = f"(cannot read {path}: {exc.strerror})"
            _attach(report, f"{label} ({path})", text)
    return report


def _status(proc: harness.WorkerProcess) -> str:
    if proc.proc is None:
        return "not started"
    code = proc.proc.poll()
    return "running" if code is None else f"exited with status {code}"


def _attach(report, title: str, text: str) -> None:
    lines = text.splitlines()
    if len(lines) > 300:
        lines = [f"... ({len(lines) - 300} earlier lines)"] + lines[-300:]
    report.sections.append((title, "\n".join(lines) or "(empty)"))
