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
    return report
