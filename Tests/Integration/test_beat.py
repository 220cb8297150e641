"""Beat end to end: `plugworker beat` (and `-B`) sends a task every second
and a running plugworker executes each one, once.

Every id beat logs as sent ("Scheduler: Sending due task NAME (TASK) [ID]")
must show up in the worker's log as succeeded. Also checked against the
real broker: a second beat on the same schedule refuses to start (exit 75),
and a restart continues the schedule from the state file without firing
early.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid

import pytest

import harness

SENT = re.compile(r"Scheduler: Sending due task (\S+) \((\S+)\) \[([0-9a-f-]{36})\]")
LOCKED_EXIT = 75


@pytest.fixture(autouse=True)
def _plugworker_only(worker_kind):
    if worker_kind != "plugworker":
        pytest.skip("beat is plugworker's command; the Python stand-in has no beat test here")


def write_config(path, queue: str, every: str = "1s") -> None:
    path.write_text(f"""
[beat]
timezone = "Europe/Paris"

[beat.schedule.answer-every-second]
task = "arith.add"
args = [20, 22]
every = "{every}"
options = {{ queue = "{queue}", expires = 30 }}

[beat.schedule.never-today]
task = "arith.add"
args = [1, 1]
crontab = {{ minute = "0", hour = "3", day_of_month = "29", month_of_year = "feb" }}
options = {{ queue = "{queue}" }}
""")


def start_beat(config, state, log_path) -> subprocess.Popen:
    log = open(log_path, "ab")
    return subprocess.Popen([str(harness.plugworker_binary()), "beat", "--config", str(config), "-s", str(state),
                             "-l", "info"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, CELERY_BROKER_URL=harness.broker_url()))


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=10)


def sent_ids(text: str) -> list[tuple[str, str]]:
    """[(entry, id)] in the order beat sent them."""
    return [(m.group(1), m.group(3)) for m in SENT.finditer(text)]


def wait_all_succeeded(worker, ids, timeout=15.0) -> None:
    deadline = time.monotonic() + timeout
    missing = set(ids)
    while missing and time.monotonic() < deadline:
        log = worker.log_text()
        missing = {i for i in missing if f"arith.add[{i}] succeeded" not in log}
        time.sleep(0.2)
    assert not missing, f"{len(missing)} of {len(ids)} beat tasks never ran: {sorted(missing)[:3]}"
    log = worker.log_text()
    for i in ids:
        assert log.count(f"arith.add[{i}] succeeded") == 1, f"{i} ran more than once"


def test_beat_sends_every_second_and_the_worker_runs_each_once(custom_worker, tmp_path):
    queue = f"it-beat-{uuid.uuid4().hex[:8]}"
    worker = custom_worker(queue, concurrency=1)
    config, state, log_path = tmp_path / "plugworker.toml", tmp_path / "beat.state", tmp_path / "beat.log"
    write_config(config, queue)

    listing = subprocess.run([str(harness.plugworker_binary()), "beat", "--config", str(config), "-s", str(state),
                              "--list"], capture_output=True, text=True, timeout=10)
    assert listing.returncode == 0, listing.stderr
    assert "answer-every-second" in listing.stdout and "<freq: 1s>" in listing.stdout
    assert re.search(r"never-today .* \d{4}-02-29 03:00:00", listing.stdout), listing.stdout

    beat = start_beat(config, state, log_path)
    try:
        time.sleep(2.5)
        second = subprocess.run([str(harness.plugworker_binary()), "beat", "--config", str(config), "-s", str(state)],
                                capture_output=True, text=True, timeout=15,
                                env=dict(os.environ, CELERY_BROKER_URL=harness.broker_url()))
        assert second.returncode == LOCKED_EXIT, second.stdout + second.stderr
        assert f"another beat (pid {beat.pid})" in second.stdout + second.stderr
        time.sleep(2.0)
    finally:
        assert stop(beat) == 0
    first_run = sent_ids(log_path.read_text())
    assert 3 <= len(first_run) <= 6, log_path.read_text()
    assert {e for e, _ in first_run} == {"answer-every-second"}
    wait_all_succeeded(worker, [i for _, i in first_run])
    assert f'"total_run_count": {len(first_run)}' in state.read_text()

    # A restart continues from the state file: the next send comes one
    # interval after the last one, not at once.
    stopped_at = time.time()
    beat = start_beat(config, state, log_path)
    try:
        time.sleep(2.5)
    finally:
        assert stop(beat) == 0
    text = log_path.read_text()
    second_run = sent_ids(text)[len(first_run):]
    assert 1 <= len(second_run) <= 4, text
    wait_all_succeeded(worker, [i for _, i in second_run])
    stamps = re.findall(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): INFO/MainProcess\] Scheduler: Sending", text)
    times = [time.mktime(time.strptime(s[:19], "%Y-%m-%d %H:%M:%S")) + int(s[20:]) / 1000 for s in stamps]
    gap = times[len(first_run)] - times[len(first_run) - 1]
    assert gap >= 0.9, f"the first send after the restart came {gap:.2f}s after the last one (double fire)"
    assert times[len(first_run)] >= stopped_at - 1


def test_worker_with_embedded_beat(custom_worker, tmp_path):
    queue = f"it-beatB-{uuid.uuid4().hex[:8]}"
    config, state = tmp_path / "plugworker.toml", tmp_path / "beat.state"
    write_config(config, queue)
    worker = custom_worker(queue, concurrency=1, extra_args=["-B", "--config", str(config), "-s", str(state)])
    time.sleep(3.5)
    ids = [i for _, i in sent_ids(worker.log_text())]
    assert len(ids) >= 2, worker.log_text()
    wait_all_succeeded(worker, ids)
    worker.stop()
    assert "answer-every-second" in state.read_text()


def test_bad_schedule_is_refused_with_the_entry_and_field(tmp_path):
    config = tmp_path / "plugworker.toml"
    config.write_text('[beat.schedule.nightly]\ntask = "arith.add"\ncrontab = { hour = "25" }\n')
    r = subprocess.run([str(harness.plugworker_binary()), "beat", "--config", str(config), "--list"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 78
    assert 'schedule entry nightly: crontab hour "25": 25 is out of range 0-23' in r.stderr


def test_saving_the_config_reloads_the_schedule(custom_worker, tmp_path):
    queue = f"it-beatR-{uuid.uuid4().hex[:8]}"
    worker = custom_worker(queue, concurrency=1)
    config, state, log_path = tmp_path / "plugworker.toml", tmp_path / "beat.state", tmp_path / "beat.log"
    write_config(config, queue)
    beat = start_beat(config, state, log_path)
    try:
        time.sleep(1.5)
        # An editor's save: write a new file and rename it over the old one.
        fresh = tmp_path / "plugworker.toml.new"
        write_config(fresh, queue)
        fresh.write_text(fresh.read_text().replace("answer-every-second", "renamed-entry"))
        fresh.rename(config)
        time.sleep(2.5)
        # A file that no longer parses keeps the running schedule.
        config.write_text("[beat.schedule.x]\ntask = \n")
        time.sleep(1.5)
        assert beat.poll() is None, "beat stopped on a broken config"
    finally:
        assert stop(beat) == 0
    text = log_path.read_text()
    assert "schedule reloaded" in text and "added renamed-entry" in text and "removed answer-every-second" in text, text
    assert "schedule not reloaded, keeping the current one" in text, text
    sent = sent_ids(text)
    assert any(e == "renamed-entry" for e, _ in sent), text
    after_reload = text[text.index("schedule reloaded"):]
    assert "(arith.add) [" in after_reload and not any(e == "answer-every-second" for e, _ in sent_ids(after_reload))
    wait_all_succeeded(worker, [i for _, i in sent])
