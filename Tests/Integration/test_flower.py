"""A real Flower fed by the worker under test (celery-wire §5, §6).

The module starts a worker of the session's kind with ``-E`` on a queue of
its own and a stock Flower (``celery -A cli_app -b <broker> flower``, from the
venv) on a free local port, runs a few tasks (successes and a failure), then
checks what Flower shows:

- ``/api/workers?refresh=1``: the node with its registered tasks, stats
  (pool, broker) and active queues (Flower's inspect calls);
- ``/api/tasks?workername=<node>``: each task's state, args, result or
  exception, and runtime (from the task events);
- ``/worker/<node>``: the worker page renders (it needs ``stats``);
- the dashboard, rendered by headless Chromium (Debian package
  ``chromium``): ``--dump-dom`` shows the node's row as Online, and a
  screenshot is taken (in pytest's temporary directory) and checked to be a
  real 1280×800 PNG. Skipped, with the reason, when Chromium is missing.

Flower 2's API needs authentication unless FLOWER_UNAUTHENTICATED_API is set;
the test sets it (Flower listens on 127.0.0.1 only).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

import celery_cli
import harness

TIMEOUT = 15


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", errors="replace")


def _get_json(url: str):
    status, body = _get(url)
    assert status == 200, f"GET {url}: HTTP {status}: {body[:500]}"
    return json.loads(body)


def _poll(what: str, fn, timeout: float = 15.0, interval: float = 0.25):
    """Calls fn() until it returns something truthy; fails with `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except (OSError, ValueError, AssertionError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    pytest.fail(f"{what} (within {timeout:g} s); last: {str(last)[:1500]}")


@pytest.fixture(scope="module")
def fl_worker(worker_kind, app, tmp_path_factory):
    with celery_cli.running_worker(worker_kind, app, tmp_path_factory.getbasetemp(), concurrency=2,
                                   extra_args=["-E"]) as proc:
        yield proc


@pytest.fixture(scope="module")
def flower(fl_worker, tmp_path_factory):
    """Flower's base URL, once its event receiver sees the worker's heartbeats."""
    port = _free_port()
    log_path = tmp_path_factory.getbasetemp() / f"flower-{port}.log"
    env = celery_cli.env()
    env["FLOWER_UNAUTHENTICATED_API"] = "true"
    argv = celery_cli.celery_argv("flower", f"--port={port}", "--address=127.0.0.1")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, env=env, cwd=harness.STAND_IN_DIR, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def online():
            if proc.poll() is not None:
                raise AssertionError(f"flower exited with status {proc.returncode}:\n"
                                     f"{log_path.read_text(errors='replace')[-3000:]}")
            rows = _get_json(f"{base}/workers?json=1")["data"]
            return any(r.get("hostname") == fl_worker.node and r.get("status") for r in rows)
        _poll(f"Flower never showed {fl_worker.node} online from its heartbeats (log {log_path})",
              online, timeout=20)
        yield {"base": base, "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(autouse=True)
def _attach_logs(request, report_file):
    if "fl_worker" in request.fixturenames:
        proc = request.getfixturevalue("fl_worker")
        report_file(f"flower test worker log ({proc.kind} {proc.node})", proc.log_path)
    if "flower" in request.fixturenames:
        report_file("flower log", request.getfixturevalue("flower")["log"])


@pytest.fixture(scope="module")
def ran(app, fl_worker, flower):
    """Tasks run while Flower watches: id -> (name, args, expected)."""
    jobs = [("arith.add", [2, 3]), ("text.upper", ["flower"]), ("arith.sleep", [0.2]),
            ("arith.div", [1, 0])]
    out = {}
    for name, args in jobs:
        r = app.send_task(name, args=args, queue=fl_worker.queue)
        out[r.id] = (name, args, r)
    for _, _, r in out.values():
        try:
            r.get(timeout=TIMEOUT)
        except ZeroDivisionError:
            pass
    return {tid: (name, args) for tid, (name, args, _) in out.items()}


def test_api_workers(fl_worker, flower, ran):
    def entry():
        workers = _get_json(f"{flower['base']}/api/workers?refresh=1")
        w = workers.get(fl_worker.node)
        return w if w and w.get("stats") and w.get("registered") else None
    w = _poll(f"/api/workers has no stats and registered tasks for {fl_worker.node}", entry)
    registered = [t.split(" [", 1)[0] for t in w["registered"]]
    assert {"arith.add", "arith.div", "text.upper"} <= set(registered), registered
    stats = w["stats"]
    assert stats["pool"]["max-concurrency"] == 2 and len(stats["pool"]["processes"]) == 2, stats["pool"]
    assert isinstance(stats["broker"], dict) and isinstance(stats["total"], dict)
    assert [q["name"] for q in w["active_queues"]] == [fl_worker.queue]


def test_api_tasks(fl_worker, flower, ran):
    node = urllib.parse.quote(fl_worker.node)

    def all_done():
        tasks = _get_json(f"{flower['base']}/api/tasks?workername={node}")
        done = {tid: t for tid, t in tasks.items()
                if tid in ran and t.get("state") in ("SUCCESS", "FAILURE")}
        return done if len(done) == len(ran) else None
    tasks = _poll("Flower did not show every task finished", all_done)
    for tid, (name, args) in ran.items():
        t = tasks[tid]
        assert t["name"] == name and t["worker"] == fl_worker.node, t
        assert t["args"] == repr(args), t  # argsrepr, as Python sends it
        assert t["received"] and t["started"], t
        if name == "arith.div":
            assert t["state"] == "FAILURE", t
            assert t["exception"].startswith("ZeroDivisionError("), t
        else:
            assert t["state"] == "SUCCESS", t
            assert isinstance(t["runtime"], float) and t["runtime"] >= 0, t
    expected = {"arith.add": "5", "text.upper": "'FLOWER'", "arith.sleep": "None"}
    for tid, (name, _) in ran.items():
        if name in expected:
            assert tasks[tid]["result"] == expected[name], tasks[tid]
    sleep_id = next(tid for tid, (name, _) in ran.items() if name == "arith.sleep")
    assert tasks[sleep_id]["runtime"] >= 0.15, tasks[sleep_id]


def test_worker_and_task_pages_render(fl_worker, flower, ran):
    """The worker page (Flower inspects stats, registered, active_queues,
    conf, active, reserved, scheduled, revoked for it) and a task page."""
    status, body = _get(f"{flower['base']}/worker/{urllib.parse.quote(fl_worker.node)}")
    assert status == 200, body[:1000]
    assert fl_worker.node in html.unescape(body)
    assert "arith.add" in body and fl_worker.queue in body
    failed = next(tid for tid, (name, _) in ran.items() if name == "arith.div")
    status, body = _get(f"{flower['base']}/task/{failed}")
    assert status == 200, body[:1000]
    body = html.unescape(body)
    assert "arith.div" in body and "ZeroDivisionError" in body and fl_worker.node in body


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("headless Chromium not installed (Debian package `chromium`; scripts/setup.sh installs it)")


def _render(url: str, *flags: str) -> subprocess.CompletedProcess:
    # --virtual-time-budget: let the page's scripts fetch and draw the
    # workers table before the DOM is dumped / the screenshot is taken.
    argv = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--window-size=1280,800", "--virtual-time-budget=5000", *flags, url]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_dashboard_in_headless_chromium(fl_worker, flower, ran, tmp_path):
    done = _render(flower["base"] + "/", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    rows = re.findall(r"<tr\b.*?</tr>", dom, flags=re.S)
    row = next((r for r in rows if f'title="{fl_worker.node}"' in r), None)
    assert row is not None, f"no row for {fl_worker.node} in the dashboard:\n{dom[-3000:]}"
    assert re.search(r">\s*Online\s*<", row), f"{fl_worker.node} is not Online: {row}"

    png = tmp_path / "flower-dashboard.png"
    done = _render(flower["base"] + "/", f"--screenshot={png}")
    assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 800)
    assert len(data) > 20_000, f"a {len(data)}-byte screenshot is too small to show the dashboard"
    print(f"dashboard screenshot: {png}")


def test_offline_after_shutdown(app, fl_worker, flower, ran):
    """`celery control shutdown`: the worker says worker-offline and Flower
    shows it offline at once (not after the heartbeat window). Last here."""
    done = celery_cli.run_celery("control", "shutdown", "-d", fl_worker.node, "-t", "1")
    assert done.returncode == celery_cli.EX_UNAVAILABLE, done  # shutdown is never answered
    assert fl_worker.proc.wait(15) == 0

    def offline():
        rows = _get_json(f"{flower['base']}/workers?json=1")["data"]
        row = next((r for r in rows if r.get("hostname") == fl_worker.node), None)
        return row is not None and row.get("status") is False and row.get("worker-offline", 0) >= 1
    _poll(f"Flower still shows {fl_worker.node} online after its shutdown", offline, timeout=3)
