"""amqps:// with certificate verification, and passwords masked everywhere,
against a private RabbitMQ node (private_broker.py) with a TLS listener and a
self-signed CA made with openssl at test time. The shared broker is never
touched.

    .venv/bin/python -m pytest Tests/Faults/test_tls.py -v
"""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "Tests" / "Integration"))

import harness  # noqa: E402
import private_broker  # noqa: E402

PASSWORD = "Quokka-7c1e9d-zebra"   # distinctive, URL-safe: searched for verbatim
USER = "pwsecret"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not found")
    d = tmp_path_factory.mktemp("certs")
    d.chmod(0o755)
    return private_broker.make_tls_certs(d)


@pytest.fixture(scope="module")
def broker(certs):
    why = private_broker.unavailable()
    if why:
        pytest.skip(why)
    if not harness.plugworker_binary().exists():
        pytest.skip("plugworker is not built")
    b = private_broker.PrivateBroker(tls_certs=certs)
    b.start()
    b.ctl("add_user", USER, PASSWORD)
    b.ctl("set_permissions", "-p", "/", USER, ".*", ".*", ".*")
    yield b
    b.stop()


@pytest.fixture
def workers(tmp_path):
    started = []

    def start(url: str, *extra: str, wait: bool = True) -> harness.WorkerProcess:
        name = f"tls-{uuid.uuid4().hex[:8]}"
        env = dict(os.environ)
        env["CELERY_BROKER_URL"] = url
        proc = harness.WorkerProcess("plugworker", name=name, queue=f"tls-{name}", concurrency=1,
                                     log_path=tmp_path / f"{name}.log", env=env, extra_args=list(extra))
        started.append(proc)
        proc.start()
        if wait:
            proc.wait_ready(30)
        return proc

    yield start
    for p in started:
        p.stop()


def client(url: str, ca: Path | None):
    from celery import Celery
    app = Celery("tls-client", broker=url, backend="rpc://")
    if ca is not None:
        app.conf.broker_use_ssl = {"ca_certs": str(ca), "cert_reqs": ssl.CERT_REQUIRED}
    app.conf.broker_connection_retry_on_startup = True
    return app


def ssl_connections(broker) -> dict[str, str]:
    """connection name -> "true"/"false" (TLS), from the broker's side."""
    out = broker.ctl("list_connections", "client_properties", "ssl", "--no-table-headers", "--quiet")
    conns = {}
    for line in out.splitlines():
        props, _, is_ssl = line.rpartition("\t")
        name = props.split('{"connection_name","', 1)[-1].split('"', 1)[0] if "connection_name" in props else ""
        conns[name] = is_ssl.strip()
    return conns


def test_amqps_round_trip_with_ca_flag(broker, certs, workers):
    w = workers(broker.tls_url, "--broker-ca", str(certs["ca"]))
    assert "Connected to amqps://guest:**@localhost:" in w.log_text()
    app = client(broker.tls_url, certs["ca"])
    try:
        assert app.send_task("arith.add", (2, 3), queue=w.queue).get(timeout=15) == 5
    finally:
        app.close()
    assert ssl_connections(broker).get(f"plugworker {w.node}") == "true"


def test_amqps_ca_from_url_query_and_client_certificate(broker, certs, workers):
    url = (f"{broker.tls_url}?ssl_ca_certs={certs['ca']}&ssl_certfile={certs['client_cert']}"
           f"&ssl_keyfile={certs['client_key']}")
    w = workers(url)
    app = client(broker.tls_url, certs["ca"])
    try:
        assert app.send_task("arith.add", (20, 22), queue=w.queue).get(timeout=15) == 42
    finally:
        app.close()
    assert ssl_connections(broker).get(f"plugworker {w.node}") == "true"
    # `plugworker call` reads the same query.
    done = subprocess.run([str(harness.plugworker_binary()), "call", "--broker", f"{broker.tls_url}?ssl_ca_certs={certs['ca']}",
                           "--queue", w.queue, "--timeout", "15", "arith.add", "40", "2"],
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout.strip()) == (0, "42"), done.stderr
    # The URL's query (file paths) stays out of the banner's masked URL.
    assert "ssl_keyfile" not in w.log_text()


@pytest.mark.parametrize("ca", ["wrong_ca", None], ids=["wrong-ca", "system-bundle"])
def test_amqps_untrusted_certificate_is_refused(broker, certs, workers, ca):
    extra = ["--broker-ca", str(certs[ca])] if ca else []
    w = workers(broker.tls_url, *extra, wait=False)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and w.log_text().count("Cannot connect") < 2:
        time.sleep(0.2)
    text = w.log_text()
    assert w.alive(), text
    assert "ready." not in text, text
    line = next((l for l in text.splitlines() if "Cannot connect" in l), "")
    assert "PW209 tls" in line and "is not trusted" in line, text
    assert "verification failed" in line, line
    assert "Trying again in" in line, line
    # No fallback: nothing from this worker reached the broker, on either port.
    assert not any(w.name in name for name in ssl_connections(broker)), ssl_connections(broker)


def test_amqps_to_a_plain_port_says_so(broker, certs, workers):
    url = f"amqps://guest:guest@localhost:{broker.port}//"
    w = workers(url, "--broker-ca", str(certs["ca"]), wait=False)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "Cannot connect" not in w.log_text():
        time.sleep(0.2)
    line = next((l for l in w.log_text().splitlines() if "Cannot connect" in l), "")
    assert "PW209 tls" in line, w.log_text()


def test_password_masked_in_log_banner_conf_report_stats_and_metrics(broker, certs, workers, tmp_path):
    url = f"amqp://{USER}:{PASSWORD}@localhost:{broker.port}//"
    metrics_port = private_broker.free_port()
    w = workers(url, "--metrics-port", str(metrics_port), "-E")
    seen: dict[str, str] = {}
    seen["log (banner)"] = w.log_text()
    assert f"{USER}:**@localhost:{broker.port}" in seen["log (banner)"]
    app = client(url, None)
    try:
        assert app.send_task("arith.add", (1, 2), queue=w.queue).get(timeout=15) == 3
        insp = app.control.inspect(destination=[w.node], timeout=5)
        for what in ("conf", "report", "stats", "registered", "active_queues"):
            reply = getattr(insp, what)()
            assert reply and w.node in reply, f"no {what} reply: {reply!r}"
            seen[f"inspect {what}"] = json.dumps(reply)
        conf = insp.conf(with_defaults=True)
        seen["inspect conf --with-defaults"] = json.dumps(conf)
        assert re.search(rf"{USER}:\*+@localhost", seen["inspect conf"]), seen["inspect conf"]
    finally:
        app.close()
    for path in ("/metrics", "/healthz"):
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}{path}", timeout=5) as r:
            seen[path] = r.read().decode()
    # A reconnect logs the URL again.
    assert broker.close_connections(f"plugworker {w.node}") == 1
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and w.log_text().count("Connected to") < 2:
        time.sleep(0.2)
    seen["log (after a reconnect)"] = w.log_text()
    assert seen["log (after a reconnect)"].count("Connected to") >= 2
    w.stop()
    seen["log (after shutdown)"] = w.log_text()
    leaks = [where for where, text in seen.items() if PASSWORD in text]
    assert not leaks, f"the broker password appears in: {', '.join(leaks)}"
