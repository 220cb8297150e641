"""Metrics and health: ``--metrics-port`` through the real worker.

A private worker serves ``http://127.0.0.1:<port>/metrics`` (Prometheus text
format) and ``/healthz``. The tests run tasks through the stock Celery
client, scrape, parse the text (a small reader below, no extra package) and
check the counters against what ran. The broker is shared, so the 503 of a
lost connection is checked in the unit tests (MetricsEndpointTests), not
here.

Only plugworker has the endpoint: with PLUGWORKER_TEST_WORKER=celery the
tests are skipped.
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
import uuid

import pytest

TASK_TIMEOUT = 15
EXIT_TIMEOUT = 20
START_FAILED = 70   # Worker.ExitStatus.startFailed


@pytest.fixture(autouse=True)
def _plugworker_only(worker_kind):
    if worker_kind != "plugworker":
        pytest.skip("the metrics endpoint exists only in plugworker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, method: str = "GET"):
    """(status, headers, body text); HTTP errors are answers too."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text: str):
    """{(name, frozenset(labels.items())): value} and {family: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(" ", 3)
            types[family] = kind
            continue
        if line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(_LABEL.findall(m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def value(samples, series: str, **labels) -> float | None:
    return samples.get((series, frozenset(labels.items())))


def scrape(port: int):
    status, headers, body = get(port, "/metrics")
    assert status == 200, body
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse_prometheus(body)


def test_counters_match_the_tasks_run(custom_worker, app):
    queue = f"it-metrics-{uuid.uuid4().hex[:8]}"
    port = free_port()
    proc = custom_worker(queue, concurrency=2, extra_args=["--metrics-port", str(port)])
    assert f"metrics: serving http://127.0.0.1:{port}/metrics" in proc.log_text()

    samples, types = scrape(port)
    assert types["plugworker_tasks_total"] == "counter"
    assert types["plugworker_task_runtime_seconds"] == "histogram"
    assert value(samples, "plugworker_tasks_total", name="arith.add", state="succeeded") == 0
    assert value(samples, "plugworker_pool_concurrency") == 2

    adds = [app.send_task("arith.add", args=[i, 1], queue=queue) for i in range(20)]
    divs = [app.send_task("arith.div", args=[i, 0], queue=queue) for i in range(3)]
    assert [r.get(timeout=TASK_TIMEOUT) for r in adds] == [i + 1 for i in range(20)]
    for r in divs:
        with pytest.raises(Exception) as info:
            r.get(timeout=TASK_TIMEOUT)
        assert "ZeroDivisionError" in type(info.value).__name__ + repr(info.value)

    # The counters move before each result is published; the acks go at
    # the end of the Hub's turn, so prefetch_in_use may lag a little.
    deadline = time.monotonic() + 5
    while True:
        samples, _ = scrape(port)
        if value(samples, "plugworker_prefetch_in_use") == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    def tasks(name, state):
        return value(samples, "plugworker_tasks_total", name=name, state=state)

    assert tasks("arith.add", "received") == 20
    assert tasks("arith.add", "started") == 20
    assert tasks("arith.add", "succeeded") == 20
    assert tasks("arith.add", "failed") == 0
    assert tasks("arith.div", "received") == 3
    assert tasks("arith.div", "succeeded") == 0
    assert tasks("arith.div", "failed") == 3
    assert value(samples, "plugworker_task_runtime_seconds_count", name="arith.add") == 20
    assert value(samples, "plugworker_task_runtime_seconds_bucket", name="arith.add", le="+Inf") == 20
    assert value(samples, "plugworker_task_runtime_seconds_count", name="arith.div") == 3
    assert value(samples, "plugworker_task_runtime_seconds_sum", name="arith.add") > 0
    assert value(samples, "plugworker_pool_processes") == 2
    assert value(samples, "plugworker_pool_processes_busy") == 0
    assert value(samples, "plugworker_pool_concurrency") == 2
    assert value(samples, "plugworker_prefetch_in_use") == 0
    assert value(samples, "plugworker_prefetch_limit") == 8    # -c 2 × multiplier 4
    assert value(samples, "plugworker_broker_connected") == 1
    assert value(samples, "plugworker_broker_reconnects_total") == 0
    assert value(samples, "plugworker_plugin_loads_total") >= 1
    assert value(samples, "plugworker_plugin_load_failures_total") == 0

    # No password anywhere (the broker URL is not a label).
    status, _, body = get(port, "/metrics")
    assert "guest:guest" not in body and "amqp://" not in body


def test_unregistered_task_is_counted_without_its_name(custom_worker, app):
    queue = f"it-metrics-{uuid.uuid4().hex[:8]}"
    port = free_port()
    custom_worker(queue, concurrency=1, extra_args=["--metrics-port", str(port)])
    name = f"no.such.task_{uuid.uuid4().hex[:6]}"
    with pytest.raises(Exception):
        app.send_task(name, queue=queue).get(timeout=TASK_TIMEOUT)
    samples, _ = scrape(port)
    assert value(samples, "plugworker_messages_rejected_total", reason="unregistered") == 1
    assert name not in get(port, "/metrics")[2]


def test_healthz_and_http_errors(custom_worker):
    queue = f"it-metrics-{uuid.uuid4().hex[:8]}"
    port = free_port()
    custom_worker(queue, concurrency=2, extra_args=["--metrics-port", str(port)])
    # The pool may still be loading plugins just after the ready line.
    deadline = time.monotonic() + 10
    while True:
        status, headers, body = get(port, "/healthz")
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    report = json.loads(body)
    assert report["status"] == "ok"
    assert report["hub"]["alive"] is True
    assert report["broker"] == {"alive": True, "state": "connected", "reconnects": 0}
    assert report["pool"]["alive"] is True
    assert report["pool"]["processes"] == 2 and report["pool"]["concurrency"] == 2

    assert get(port, "/nope")[0] == 404
    status, headers, _ = get(port, "/metrics", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"NONSENSE\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400 ")


def test_port_in_use_stops_the_worker(custom_worker):
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen(1)
        proc = custom_worker(f"it-metrics-{uuid.uuid4().hex[:8]}", concurrency=1,
                             extra_args=["--metrics-port", str(port)], wait=False)
        status = proc.proc.wait(timeout=EXIT_TIMEOUT)
    assert status == START_FAILED
    log = proc.log_text()
    assert "PW402 metrics-port-in-use" in log
    assert f"127.0.0.1:{port}" in log
