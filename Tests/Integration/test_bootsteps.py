"""Plugin bootsteps and signals, through the real worker and a real broker.

Each test starts its own worker (the ``custom_worker`` fixture) with the
environment its plugins read:

- ``Plugins/audit.c`` appends one line per signal and per step callback to
  ``$PLUGWORKER_AUDIT_LOG``: ``<event> pid=<pid> key=value ...``;
- ``Examples/consumer-step/rawlog.c`` (built here with its Makefile) has a
  consumer step that consumes ``$PLUGWORKER_RAWLOG_QUEUE`` and appends
  ``<queue> <routing_key> <redelivered 0|1> <body>`` per message, and
  ``step.<phase> pid=<pid> ...`` per step callback, to ``$PLUGWORKER_RAWLOG``.

The pids in those lines tell which process ran what: the master is the
worker subprocess itself, the pool processes are its children.

The messages for the consumer step are plain AMQP messages (text/plain)
published with py-amqp, not Celery task messages. The broker-restart test
runs last in the session (marker ``broker_restart``, see conftest.py) and
needs the local RabbitMQ and rabbitmqctl; it is skipped otherwise.

Only plugworker has these plugins: with PLUGWORKER_TEST_WORKER=celery the
tests are skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import amqp
import pytest
from celery import Celery
from kombu import Connection

import harness
from harness import wait_for

TASK_TIMEOUT = 15       # seconds for one Celery result
EVENT_TIMEOUT = 10      # seconds for a line to show up in a plugin's file
RESPAWN_TIMEOUT = 10    # seconds for the pool to replace a killed process
RECOVERY_TIMEOUT = 20   # seconds from the broker answering again after a restart to
                        # the worker having handled what waited for it (its first
                        # reconnect attempt comes about 2 s after the broker is back)
SETTLE = 1.0            # seconds to wait for lines that must NOT show up
STOP_TIMEOUT = 15       # seconds from SIGTERM to the worker's exit

EXAMPLE_DIR = harness.REPO_ROOT / "Examples" / "consumer-step"


@pytest.fixture(autouse=True)
def _plugworker_only(worker_kind):
    if worker_kind != "plugworker":
        pytest.skip("plugin bootsteps exist only in plugworker")


# ---- helpers ----------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class Event:
    """One line of an audit or rawlog file: `<event> pid=N key=value ...`."""
    index: int          # line number in the file, from 0
    event: str          # "worker_init", "step.start", ...
    pid: int | None
    fields: dict = field(default_factory=dict)
    line: str = ""


def read_events(path: Path) -> list[Event]:
    """The `key=value` lines of a plugin's file (message lines of the rawlog
    file have no pid= and are left out)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return []
    events = []
    for index, line in enumerate(text.splitlines()):
        name, _, rest = line.partition(" ")
        fields = dict(part.split("=", 1) for part in rest.split() if "=" in part)
        if "pid" not in fields:
            continue
        events.append(Event(index, name, int(fields["pid"]), fields, line))
    return events


def of(events: list[Event], event: str, /, **match) -> list[Event]:
    return [e for e in events if e.event == event
            and all(e.fields.get(k) == v for k, v in match.items())]


def file_text(path: Path) -> str:
    try:
        return f"--- {path} ---\n{path.read_text(errors='replace')}"
    except FileNotFoundError:
        return f"--- {path}: does not exist ---"


@dataclass
class RawMessage:
    """One message line of the rawlog file."""
    index: int
    queue: str
    routing_key: str
    redelivered: bool
    body: str


def read_messages(path: Path) -> list[RawMessage]:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return []
    out = []
    for index, line in enumerate(text.splitlines()):
        if line.startswith("step."):
            continue
        parts = line.split(" ", 3)
        if len(parts) == 3:
            parts.append("")  # an empty body
        queue, rkey, flag, body = parts
        assert flag in ("0", "1"), f"malformed rawlog line {index}: {line!r}"
        out.append(RawMessage(index, queue, rkey, flag == "1", body))
    return out


def bodies_of(messages: list[RawMessage]) -> list[str]:
    return [m.body for m in messages]


@contextlib.contextmanager
def amqp_channel(url: str):
    """A py-amqp channel on its own connection (no Celery, no kombu entities)."""
    with Connection(url) as conn:
        conn.connect()
        channel = conn.connection.channel()
        assert isinstance(channel, amqp.Channel)
        try:
            yield channel
        finally:
            with contextlib.suppress(Exception):
                channel.close()


def publish(channel, queue: str, body: str, *, via_exchange: bool = False) -> None:
    """A plain persistent text message to `queue`, through the default
    exchange or through the direct exchange named like the queue; waits for
    the broker's publisher confirm."""
    message = amqp.Message(body, content_type="text/plain", content_encoding="utf-8",
                           delivery_mode=2)
    channel.basic_publish_confirm(message, exchange=queue if via_exchange else "",
                                  routing_key=queue)


def queue_state(url: str, queue: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of `queue`, or None if it does not exist."""
    try:
        with amqp_channel(url) as channel:
            _, messages, consumers = channel.queue_declare(queue, passive=True)
            return messages, consumers
    except amqp.exceptions.NotFound:
        return None


@pytest.fixture
def celery_client(broker_url):
    """client() -> a new stock Celery client app (rpc:// results), closed at
    the end of the test. Its own, not the session's `app`: a broker restart
    must not leave the session's client with dead connections."""
    apps = []

    def _new():
        client = Celery("plugworker-it-bootsteps", broker=broker_url, backend="rpc://")
        client.conf.broker_connection_retry_on_startup = True
        apps.append(client)
        return client

    yield _new
    for client in apps:
        with contextlib.suppress(Exception):
            client.close()


@dataclass
class RawlogBuild:
    plugin_dir: Path        # a private directory holding only librawlog.so
    make_output: str


@pytest.fixture(scope="module")
def rawlog_build():
    """Builds Examples/consumer-step with its Makefile (always, -B) and copies
    librawlog.so into a private directory (mode 0700: the worker refuses
    plugin directories that others can write to)."""
    if shutil.which("make") is None:
        pytest.fail("make is not installed (scripts/setup.sh installs build-essential)")
    done = subprocess.run(["make", "-B", "-C", str(EXAMPLE_DIR), "librawlog.so"],
                          capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"make -C {EXAMPLE_DIR} failed (status {done.returncode}):\n{output}")
    plugin_dir = Path(tempfile.mkdtemp(prefix="plugworker-rawlog-"))
    shutil.copy2(EXAMPLE_DIR / "librawlog.so", plugin_dir / "librawlog.so")
    yield RawlogBuild(plugin_dir, output)
    shutil.rmtree(plugin_dir, ignore_errors=True)


def start_rawlog_worker(custom_worker, rawlog_build, queue: str, raw_queue: str,
                        rawlog: Path, concurrency: int = 3) -> harness.WorkerProcess:
    return custom_worker(
        queue, concurrency=concurrency, queues=[raw_queue],
        env={"PLUGWORKER_RAWLOG": str(rawlog), "PLUGWORKER_RAWLOG_QUEUE": raw_queue},
        extra_args=["--plugins", str(rawlog_build.plugin_dir)])


def check_step_queue_consumed(url: str, raw_queue: str) -> None:
    """The step's queue exists, is consumed, and is declared as -Q queues are:
    durable, with a durable direct exchange of the same name."""
    state = wait_for(lambda: queue_state(url, raw_queue) or None, EVENT_TIMEOUT,
                     f"the consumer step's queue {raw_queue!r} to be declared")
    wait_for(lambda: (queue_state(url, raw_queue) or (0, 0))[1] >= 1, EVENT_TIMEOUT,
             f"a consumer on the step's queue {raw_queue!r} (state {state})")
    # Redeclaring with the same properties succeeds only if they match what
    # the worker declared (RabbitMQ answers 406 PRECONDITION_FAILED otherwise).
    with amqp_channel(url) as channel:
        channel.queue_declare(raw_queue, durable=True, auto_delete=False)
        channel.exchange_declare(raw_queue, "direct", durable=True, auto_delete=False,
                                 passive=True)


def wait_rawlog(rawlog: Path, expected: dict[str, int], timeout: float = EVENT_TIMEOUT):
    """Waits until every body in `expected` has at least its count of lines."""
    def done():
        seen = bodies_of(read_messages(rawlog))
        return all(seen.count(body) >= n for body, n in expected.items())
    wait_for(done, timeout, f"messages {sorted(expected)} in the rawlog file",
             lambda: file_text(rawlog))


# ---- the build ----------------------------------------------------------------


def test_rawlog_example_builds_without_warnings_and_loads(rawlog_build):
    assert "warning" not in rawlog_build.make_output.lower(), rawlog_build.make_output
    check = subprocess.run(
        [str(harness.plugworker_binary()), "check",
         str(rawlog_build.plugin_dir / "librawlog.so")],
        capture_output=True, text=True, timeout=60, cwd=harness.REPO_ROOT)
    output = check.stdout + check.stderr
    assert check.returncode == 0, output
    assert "rawlog 1.0.0" in output, output
    assert "rawlog.Consumer (consumer blueprint, requires Connection)" in output, output


# ---- audit: signals and step order --------------------------------------------


def test_audit_signals_and_step_order(custom_worker, celery_client, report_file, tmp_path):
    audit = tmp_path / "audit.log"
    report_file("audit log", audit)
    queue = unique("it")
    proc = custom_worker(queue, concurrency=3, env={"PLUGWORKER_AUDIT_LOG": str(audit)})
    master = proc.proc.pid
    app = celery_client()

    result = app.send_task("arith.add", args=[2, 3], queue=queue)
    assert result.get(timeout=TASK_TIMEOUT) == 5

    def settled():
        events = read_events(audit)
        pool_inits = of(events, "worker_process_init")
        postrun = of(events, "task_postrun", task_id=result.id)
        return events if len(pool_inits) >= 3 and postrun else None
    events = wait_for(settled, EVENT_TIMEOUT,
                      "three worker_process_init lines and the task's task_postrun",
                      lambda: file_text(audit))

    # Master-side signals: once each, from the master.
    inits = of(events, "worker_init")
    assert [e.pid for e in inits] == [master], (
        f"worker_init must come once from the master (pid {master}): {inits}")
    ready = of(events, "worker_ready")
    assert [e.pid for e in ready] == [master], (
        f"worker_ready must come once from the master (pid {master}): {ready}")

    # One worker_process_init per pool process: three processes, not the master.
    pool_inits = of(events, "worker_process_init")
    pool = {e.pid for e in pool_inits}
    assert len(pool_inits) == 3 and len(pool) == 3, (
        f"-c 3: expected worker_process_init from 3 distinct pids: {pool_inits}")
    assert master not in pool, f"worker_process_init from the master (pid {master})"
    assert pool <= set(proc.tree_pids()), (
        f"pool pids {sorted(pool)} are not all live processes of the worker "
        f"{sorted(proc.tree_pids())}")

    # Steps: created and started once each, in the master; the worker step
    # (requires Pool) starts before the consumer step (consumer blueprint,
    # which starts after the worker blueprint's Pool... Consumer).
    step = {}
    for name in ("audit.WorkerStep", "audit.ConsumerStep"):
        for phase in ("create", "start"):
            lines = of(events, f"step.{phase}", name=name)
            assert len(lines) == 1, f"expected one step.{phase} for {name}: {lines}"
            assert lines[0].pid == master, (
                f"step.{phase} {name} ran in pid {lines[0].pid}, not in the master ({master})")
            step[name, phase] = lines[0]
        assert step[name, "create"].index < step[name, "start"].index, \
            f"{name} started before it was created"
    assert step["audit.WorkerStep", "start"].index < step["audit.ConsumerStep", "start"].index, \
        "audit.WorkerStep (worker blueprint) must start before audit.ConsumerStep"
    assert step["audit.WorkerStep", "start"].fields.get("blueprint") == "worker"
    assert step["audit.ConsumerStep", "start"].fields.get("blueprint") == "consumer"
    for key in step:
        assert step[key].fields.get("hostname") == proc.node, (
            f"step_hostname() answered {step[key].fields.get('hostname')!r}, "
            f"the node is {proc.node!r}")
    assert inits[0].index < step["audit.WorkerStep", "start"].index, \
        "worker_init must come before the blueprint starts"
    # As in Celery, the worker is ready once the consumer blueprint's steps
    # have started (worker_ready comes from the event loop, the last step).
    assert ready[0].index > step["audit.ConsumerStep", "start"].index, \
        "worker_ready came before audit.ConsumerStep started"

    # The task's signals, from one of the pool processes.
    for name in ("task_prerun", "task_postrun"):
        lines = of(events, name, task_id=result.id)
        assert len(lines) == 1, f"expected one {name} for task {result.id}: {lines}"
        assert lines[0].pid in pool, (
            f"{name} ran in pid {lines[0].pid}, not in a pool process {sorted(pool)}")
        assert lines[0].fields.get("task") == "arith.add"
    assert of(events, "task_postrun", task_id=result.id)[0].fields.get("state") == "SUCCESS"
    assert not of(events, "step.stop"), "a step was stopped while the worker runs"

    # A pool process killed with SIGKILL is replaced by a new one, which
    # signals worker_process_init; the steps are not restarted for it.
    victim = min(pool)
    os.kill(victim, signal.SIGKILL)

    def respawned():
        events = read_events(audit)
        fresh = [e for e in of(events, "worker_process_init") if e.pid not in pool]
        return (events, fresh) if fresh else None
    events, fresh = wait_for(respawned, RESPAWN_TIMEOUT,
                             f"a new worker_process_init after SIGKILL to pool pid {victim}",
                             lambda: file_text(audit))
    assert len(fresh) == 1, f"expected one replacement process: {fresh}"
    assert fresh[0].pid != master
    assert fresh[0].pid in proc.tree_pids(), \
        f"the replacement pid {fresh[0].pid} is not a live process of the worker"
    assert len(of(events, "step.start")) == 2, "steps started again after a pool process died"
    assert proc.alive()
    assert app.send_task("arith.add", args=[20, 22], queue=queue).get(timeout=TASK_TIMEOUT) == 42

    # Warm shutdown: steps stop in the reverse of their start order, then
    # worker_shutdown, and the worker exits 0.
    status = proc.stop(term_timeout=STOP_TIMEOUT)
    events = read_events(audit)
    assert status == 0, f"the worker exited with status {status} after SIGTERM"
    stops = {}
    for name in ("audit.WorkerStep", "audit.ConsumerStep"):
        lines = of(events, "step.stop", name=name)
        assert len(lines) == 1, f"expected one step.stop for {name}: {lines}"
        assert lines[0].pid == master
        stops[name] = lines[0]
    assert stops["audit.ConsumerStep"].index < stops["audit.WorkerStep"].index, \
        "steps must stop in reverse order: audit.ConsumerStep before audit.WorkerStep"
    shutdown = of(events, "worker_shutdown")
    assert [e.pid for e in shutdown] == [master], (
        f"worker_shutdown must come once from the master (pid {master}): {shutdown}")
    assert shutdown[0].index > stops["audit.WorkerStep"].index, \
        "worker_shutdown must come after the blueprint stopped"


# ---- rawlog: a consumer step with a queue -------------------------------------


def test_consumer_step_consumes_plain_messages(custom_worker, celery_client, rawlog_build,
                                               report_file, tmp_path, broker_url):
    queue, raw_queue = unique("it"), unique("it-rawlog")
    dead_queue = f"{raw_queue}.dead"
    rawlog = tmp_path / "rawlog.txt"
    report_file("rawlog file", rawlog)

    # With the local broker: a dead-letter policy on the step's queue, to see
    # where rejected messages go. (A policy, not queue arguments: the worker
    # declares the queue without arguments.)
    policy = None
    if harness.broker_control_unavailable(broker_url) is None:
        policy = unique("it-rawlog-dlx")
        harness.rabbitmqctl(
            "set_policy", "--apply-to", "queues", "--priority", "100", policy,
            f"^{raw_queue}$",
            f'{{"dead-letter-exchange": "", "dead-letter-routing-key": "{dead_queue}"}}')
        with amqp_channel(broker_url) as channel:
            channel.queue_declare(dead_queue, durable=False, auto_delete=False)
    try:
        _consumer_step_scenario(custom_worker, celery_client, rawlog_build, broker_url,
                                queue, raw_queue, rawlog, dead_queue if policy else None)
    finally:
        if policy is not None:
            with contextlib.suppress(Exception):
                harness.rabbitmqctl("clear_policy", policy)
            with contextlib.suppress(Exception), amqp_channel(broker_url) as channel:
                channel.queue_delete(dead_queue)


def _consumer_step_scenario(custom_worker, celery_client, rawlog_build, broker_url,
                            queue, raw_queue, rawlog, dead_queue):
    proc = start_rawlog_worker(custom_worker, rawlog_build, queue, raw_queue, rawlog)
    master = proc.proc.pid
    app = celery_client()

    events = read_events(rawlog)
    for phase in ("create", "start"):
        lines = of(events, f"step.{phase}", name="rawlog.Consumer")
        assert len(lines) == 1, (
            f"expected one step.{phase} rawlog.Consumer before ready\n{file_text(rawlog)}")
        assert lines[0].pid == master
        assert lines[0].fields.get("hostname") == proc.node
    check_step_queue_consumed(broker_url, raw_queue)

    # Plain messages and Celery tasks at the same time.
    tag = uuid.uuid4().hex[:8]
    plain = [f"hello-{i}-{tag}" for i in range(10)] + [
        f"héllo wörld {tag}",       # UTF-8, with spaces
        f"two\nlines-{tag}",        # written as two\nlines (escaped)
    ]
    bodies = plain[:5] + ["reject"] + plain[5:8] + ["requeue"] + plain[8:]
    tasks = []
    with amqp_channel(broker_url) as channel:
        for i, body in enumerate(bodies):
            publish(channel, raw_queue, body, via_exchange=i % 2 == 1)
            tasks.append((i, app.send_task("arith.add", args=[i, 1000], queue=queue)))
    assert [r.get(timeout=TASK_TIMEOUT) for _, r in tasks] == [i + 1000 for i, _ in tasks]

    logged = {body.replace("\n", "\\n"): 1 for body in plain}
    logged.update({"reject": 1, "requeue": 2})
    wait_rawlog(rawlog, logged)
    time.sleep(SETTLE)  # time for a wrong redelivery to show up

    messages = read_messages(rawlog)
    seen = bodies_of(messages)
    for body, n in logged.items():
        assert seen.count(body) == n, (
            f"{body!r} was handed to on_message {seen.count(body)} times, expected {n}\n"
            f"{file_text(rawlog)}")
    assert len(messages) == sum(logged.values()), f"unexpected lines\n{file_text(rawlog)}"
    for m in messages:
        assert (m.queue, m.routing_key) == (raw_queue, raw_queue), m
    requeued = [m.redelivered for m in messages if m.body == "requeue"]
    assert requeued == [False, True], (
        f"PW_REQUEUE: the message must come back once, redelivered: {requeued}")
    assert not any(m.redelivered for m in messages if m.body != "requeue"), \
        f"a message other than 'requeue' was redelivered\n{file_text(rawlog)}"

    # Everything acknowledged or rejected: nothing left on the queue.
    wait_for(lambda: queue_state(broker_url, raw_queue) == (0, 1), EVENT_TIMEOUT,
             f"the step's queue to be empty with one consumer "
             f"(it is {queue_state(broker_url, raw_queue)})")

    # PW_REJECT is a reject without requeue: dead-lettered when the queue has
    # a dead-letter exchange.
    if dead_queue is not None:
        with amqp_channel(broker_url) as channel:
            dead = wait_for(lambda: channel.basic_get(dead_queue, no_ack=True), EVENT_TIMEOUT,
                            f"the rejected message on the dead-letter queue {dead_queue}")
            assert dead.body in (b"reject", "reject")
            assert channel.basic_get(dead_queue, no_ack=True) is None, \
                "more than one message was dead-lettered"

    # Warm shutdown: the step is stopped and shut down in the master; its
    # private data (the counters) lived through it all.
    status = proc.stop(term_timeout=STOP_TIMEOUT)
    assert status == 0, f"the worker exited with status {status} after SIGTERM"
    events = read_events(rawlog)
    last_message = messages[-1].index
    for phase in ("stop", "shutdown"):
        lines = of(events, f"step.{phase}", name="rawlog.Consumer")
        assert lines, f"no step.{phase} for rawlog.Consumer\n{file_text(rawlog)}"
        assert all(e.pid == master for e in lines)
        assert lines[-1].index > last_message
        assert lines[-1].fields.get("messages") == str(len(messages)), (
            f"step.{phase}: the step's counter (step_data) says "
            f"{lines[-1].fields.get('messages')} messages, {len(messages)} were logged")
    assert len(of(events, "step.shutdown", name="rawlog.Consumer")) == 1


# ---- the broker restarts (last: see the broker_restart marker) ----------------


@pytest.mark.broker_restart
def test_consumer_step_survives_broker_restart(custom_worker, celery_client, rawlog_build,
                                              report_file, tmp_path, broker_url):
    why = harness.broker_control_unavailable(broker_url)
    if why is not None:
        pytest.skip(f"cannot restart the broker: {why}")
    queue, raw_queue = unique("it"), unique("it-rawlog")
    rawlog = tmp_path / "rawlog.txt"
    report_file("rawlog file", rawlog)
    proc = start_rawlog_worker(custom_worker, rawlog_build, queue, raw_queue, rawlog)
    check_step_queue_consumed(broker_url, raw_queue)

    tag = uuid.uuid4().hex[:8]
    before = [f"before-{i}-{tag}" for i in range(3)]
    with amqp_channel(broker_url) as channel:
        for body in before:
            publish(channel, raw_queue, body)
    wait_rawlog(rawlog, {body: 1 for body in before})
    assert celery_client().send_task("arith.add", args=[1, 2], queue=queue).get(
        timeout=TASK_TIMEOUT) == 3

    queued = [f"queued-{i}-{tag}" for i in range(5)]
    live = [f"live-{i}-{tag}" for i in range(5)]
    try:
        downtime = harness.restart_broker(broker_url)
        back = time.monotonic()
        print(f"broker restarted: unreachable for {downtime:.1f} s")

        def left() -> float:
            return max(0.1, back + RECOVERY_TIMEOUT - time.monotonic())

        # Published as soon as the broker answers, before the worker has
        # reconnected: the queues are durable and the messages persistent, so
        # they wait on the broker, and the worker must handle them as soon as
        # it consumes again (not at its next heartbeat tick).
        with amqp_channel(broker_url) as channel:
            for i, body in enumerate(queued):
                publish(channel, raw_queue, body, via_exchange=i % 2 == 1)
        # A new client: the old one's result queue went with the restart.
        waiting_task = celery_client().send_task("arith.add", args=[40, 2], queue=queue)
        wait_for(lambda: all(b in bodies_of(read_messages(rawlog)) for b in queued), left(),
                 f"the raw messages that waited for the worker to reconnect, within "
                 f"{RECOVERY_TIMEOUT} s of the broker answering again", lambda: file_text(rawlog))
        assert waiting_task.get(timeout=left()) == 42
        check_step_queue_consumed(broker_url, raw_queue)

        # Once reconnected, new messages and tasks flow as before.
        with amqp_channel(broker_url) as channel:
            for i, body in enumerate(live):
                publish(channel, raw_queue, body, via_exchange=i % 2 == 1)
        wait_rawlog(rawlog, {body: 1 for body in live})
        assert celery_client().send_task("arith.add", args=[5, 5], queue=queue).get(
            timeout=TASK_TIMEOUT) == 10
    finally:
        harness.ensure_broker_running(broker_url)

    time.sleep(SETTLE)
    seen = bodies_of(read_messages(rawlog))
    for body in before + queued + live:
        assert seen.count(body) == 1, (
            f"{body!r} was handed to on_message {seen.count(body)} times\n{file_text(rawlog)}")
    assert proc.alive(), "the worker died with the broker restart"
    starts = of(read_events(rawlog), "step.start", name="rawlog.Consumer")
    print(f"rawlog.Consumer started {len(starts)} times (the consumer blueprint may "
          f"restart its steps on reconnect)")
    status = proc.stop(term_timeout=STOP_TIMEOUT)
    assert status == 0, f"the worker exited with status {status} after SIGTERM"
