"""The bad-input corpus: malformed and hostile messages against a real worker.

Each case is published by hand (py-amqp, no Celery) to a private worker's
queue, with an id and a reply_to of our own where the case allows, and is
followed by a good `arith.add` sent by the stock Celery client, which must
succeed. For each case the test checks:

- the worker stays up and serves the good task;
- the bad message is **rejected**, not silently dropped: the queue has a
  dead-letter exchange (a RabbitMQ policy, so the worker's own queue
  declaration is unchanged), and the message must arrive in the
  dead-letter queue;
- a FAILURE result with the expected exception type arrives on reply_to
  whenever the message carries a usable id and reply_to; none otherwise;
- nothing is left in the queue to loop.

The worker runs with `--max-message-size 65536` so that the oversized body
case stays small. plugworker only: the Python worker drops most of these
without a result (see test_roundtrip.py's EXPECTED).
"""

from __future__ import annotations

import datetime
import decimal
import json
import pickle
import time
import uuid
import zlib

import amqp
import pytest

import harness

TIMEOUT = 10
MAX_SIZE = 65536
EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def _json(obj) -> bytes:
    return json.dumps(obj).encode()


GOOD_BODY = _json([[2, 3], {}, EMBED])

# exc_type sets accepted in the FAILURE result; "none": no result expected
# (no usable id or reply_to); every such case must be dead-lettered.
# "success": a message the worker accepts on purpose (it runs, SUCCESS);
# ("ran", {exc types}): it runs, and succeeds or fails with one of those.
DECODE = {"DecodeError", "ContentDisallowed", "InvalidTaskError", "ValueError", "TypeError"}
INVALID = {"InvalidTaskError", "ValueError", "TypeError", "DecodeError"}
ARGS = {"TypeError"}


def case(name, expect, *, body=GOOD_BODY, content_type="application/json", encoding="utf-8", headers=None,
         drop=(), task_id=True, reply=True, correlation=True):
    return pytest.param(dict(name=name, expect=expect, body=body, content_type=content_type, encoding=encoding,
                             headers=headers or {}, drop=tuple(drop), task_id=task_id, reply=reply,
                             correlation=correlation), id=name)


def deep(n):
    return ("[" * n + "]" * n).encode()


CASES = [
    # --- content types and encodings ---------------------------------------
    case("pickle", {"ContentDisallowed"}, content_type="application/x-python-serialize", encoding="binary",
         body=pickle.dumps(((2, 3), {}, EMBED), protocol=2)),
    case("yaml", {"ContentDisallowed"}, content_type="application/x-yaml", body=b"- [2, 3]\n- {}\n"),
    case("msgpack", {"ContentDisallowed"}, content_type="application/x-msgpack", encoding="binary",
         body=b"\x93\x92\x02\x03\x80\x80"),
    case("text-plain", {"ContentDisallowed"}, content_type="text/plain"),
    # A missing content type is read as JSON (kombu always sends one; see
    # TaskMessageDecoder): the task runs.
    case("no-content-type", "success", content_type=None),
    case("utf16-encoding", DECODE | {"ContentDisallowed"}, encoding="utf-16",
         body=json.dumps([[2, 3], {}, EMBED]).encode("utf-16")),
    case("gzip-header-not-compressed", DECODE, headers={"compression": "application/x-gzip"}),
    case("unknown-compression", DECODE | {"ContentDisallowed"}, headers={"compression": "application/x-lzma-nope"}),
    case("zlib-bomb-over-limit", {"LimitExceeded"},
         headers={"compression": "application/x-gzip"},
         body=zlib.compress(b"[[" + b"1," * 400_000 + b"1], {}, {}]", 9)),
    # --- bodies ------------------------------------------------------------
    case("invalid-json", {"DecodeError"}, body=b'[[2, 3], {}, {"callbacks": nul'),
    case("empty-body", DECODE, body=b""),
    case("body-null", INVALID, body=b"null"),
    # A `task` header with an object body is Celery's "hybrid" message, read
    # like protocol 1 (hybrid_to_proto2): it runs.
    case("body-object", "success", body=b'{"args": [2, 3]}'),
    case("body-pair", INVALID, body=b"[1, 2]"),
    case("body-quad", INVALID, body=_json([[2, 3], {}, EMBED, 4])),
    case("args-not-array", INVALID, body=_json(["x", {}, EMBED])),
    case("kwargs-not-object", INVALID, body=_json([[2], ["b", 3], EMBED])),
    case("embed-not-object", INVALID, body=_json([[2, 3], {}, 5])),
    case("invalid-utf8-body", DECODE, body=b'[["\xff\xfe"], {}, {}]'),
    case("bom-prefix", DECODE, body=b"\xef\xbb\xbf" + GOOD_BODY),
    case("trailing-garbage", DECODE, body=GOOD_BODY + b" xyz"),
    case("deep-nesting", DECODE | {"RecursionError"}, body=b"[" + deep(5000) + b", {}, {}]"),
    case("oversized-body", {"LimitExceeded"},
         body=_json([["x" * (MAX_SIZE + 1)], {}, EMBED])),
    # --- arguments that do not fit arith.add(a: int64, b: int64) ------------
    case("arg-string", ARGS, body=_json([["a", 1], {}, EMBED])),
    case("arg-float", ARGS, body=_json([[2.5, 1], {}, EMBED])),
    case("arg-too-big", ARGS | {"OverflowError"}, body=b'[[18446744073709551616, 1], {}, {}]'),
    case("arg-huge-exponent", ARGS | {"OverflowError"}, body=b'[[1e400, 1], {}, {}]'),
    case("arg-nan", ARGS | DECODE, body=b'[[NaN, 1], {}, {}]'),
    case("too-many-args", ARGS, body=_json([[1, 2, 3], {}, EMBED])),
    case("missing-arg", ARGS, body=_json([[1], {}, EMBED])),
    case("unexpected-kwarg", ARGS, body=_json([[1, 2], {"c": 3}, EMBED])),
    case("duplicate-kwarg", ARGS, body=_json([[1], {"a": 2}, EMBED])),
    case("repeated-json-key", ARGS | DECODE, body=b'[[], {"a": 1, "a": 2, "b": 3}, {}]'),
    case("huge-args-list", ARGS, body=_json([list(range(5000)), {}, EMBED])),
    # --- headers -----------------------------------------------------------
    case("no-task-header", {"InvalidTaskError"}, drop=["task"]),
    case("no-task-header-no-id", "none", drop=["task"], task_id=False, correlation=False),
    case("task-is-number", INVALID | {"NotRegistered"}, headers={"task": 5}),
    case("task-empty", INVALID | {"NotRegistered"}, headers={"task": ""}),
    case("task-unknown", {"NotRegistered"}, headers={"task": "no.such.task"}),
    case("task-table", INVALID | {"NotRegistered"}, headers={"task": {"name": "arith.add"}}),
    # Without a usable id header the result still reaches the client: it
    # waits on the correlation_id, which the FAILURE carries.
    case("no-id", {"ValueError", "InvalidTaskError"}, task_id=False),
    case("id-is-number", {"TypeError", "InvalidTaskError"}, headers={"id": 12345}),
    case("id-empty", {"ValueError", "InvalidTaskError"}, headers={"id": ""}),
    case("no-id-no-correlation-id", "none", task_id=False, correlation=False),
    case("no-reply-to", "none", reply=False, headers={"task": "no.such.task"}),
    case("retries-string", INVALID, headers={"retries": "three"}),
    case("retries-negative", INVALID, headers={"retries": -1}),
    case("retries-huge", "success", headers={"retries": 2**62}),
    # A retry at the edge of int64: retries + 1 must not overflow the worker.
    # It runs: retried once then succeeds, or (with a max_retries) fails
    # with MaxRetriesExceededError; either way no crash and no rejection.
    case("retries-int64-edge-retry", ("ran", {"MaxRetriesExceededError"}),
         headers={"retries": 2**63 - 2, "task": "arith.flaky"}, body=_json([[2**63 - 1], {}, EMBED])),
    case("eta-not-a-date", INVALID, headers={"eta": "tomorrow-ish"}),
    case("eta-number", INVALID, headers={"eta": 12345}),
    case("expires-not-a-date", INVALID, headers={"expires": "never"}),
    case("timelimit-not-array", INVALID, headers={"timelimit": "10"}),
    case("timelimit-negative", INVALID, headers={"timelimit": [-1, -5]}),
    case("timelimit-strings", INVALID, headers={"timelimit": ["a", "b"]}),
    case("timelimit-three", INVALID, headers={"timelimit": [1, 2, 3]}),
    # (NaN and infinity cannot even be sent: RabbitMQ closes the connection.)
    case("timelimit-huge", "success", headers={"timelimit": [1e308, 1e300]}),
    case("ignore-result-string", INVALID, headers={"ignore_result": "maybe"}),
    case("group-index-string", INVALID, headers={"group_index": "first"}),
    case("root-id-table", INVALID, headers={"root_id": {"x": 1}}),
    case("parent-id-list", INVALID, headers={"parent_id": [1, 2]}),
    case("stamps-not-table", INVALID, headers={"stamps": "oops"}),
    # Cosmetic fields of the wrong type are ignored, as Python ignores them.
    case("shadow-number", "success", headers={"shadow": 7}),
    case("argsrepr-number", "success", headers={"argsrepr": 7}),
    # Unusual AMQP field kinds (py-amqp: bytes 'x', Decimal 'D', datetime 'T').
    # Byte-array header values are read as strings (invalid UTF-8 as U+FFFD,
    # see AMQPTable); the result still reaches the client by correlation_id.
    case("header-bytes-task", "success", headers={"task": b"arith.add"}),
    case("header-decimal-retries", INVALID, headers={"retries": decimal.Decimal("1.5")}),
    case("header-timestamp-eta", INVALID,
         headers={"eta": datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)}),
    case("header-bytes-id", "success", headers={"id": b"\xff\xfe"}),
]


@pytest.fixture(autouse=True)
def _plugworker_only(worker_kind):
    if worker_kind != "plugworker":
        pytest.skip("the corpus checks plugworker's stricter handling (a FAILURE result and a rejection each)")


@pytest.fixture(scope="module")
def corpus(broker_url, tmp_path_factory):
    """A private worker with a small --max-message-size, its queue dead-lettered
    (through a policy) into a queue the test reads."""
    tag = uuid.uuid4().hex[:10]
    queue, dlx, dlq = f"it-bad-{tag}", f"it-bad-dlx-{tag}", f"it-bad-dlq-{tag}"
    why = harness.broker_control_unavailable(broker_url)
    if why:
        pytest.skip(f"the corpus needs a dead-letter policy set with rabbitmqctl: {why}")
    conn = amqp.Connection(host=broker_url.split("@")[-1].split("/")[0] or "localhost:5672",
                           userid="guest", password="guest")
    conn.connect()
    channel = conn.channel()
    channel.exchange_declare(dlx, "fanout", durable=False, auto_delete=False)
    channel.queue_declare(dlq, durable=False, auto_delete=False)
    channel.queue_bind(dlq, dlx, "")
    policy = f"it-bad-{tag}"
    harness.rabbitmqctl("set_policy", policy, f"^{queue}$", json.dumps({"dead-letter-exchange": dlx}),
                        "--apply-to", "queues", "--priority", "10")
    proc = harness.WorkerProcess("plugworker", name=f"it-bad-{tag}", queue=queue, concurrency=2,
                                 log_path=tmp_path_factory.getbasetemp() / f"worker-bad-{tag}.log",
                                 extra_args=["--max-message-size", str(MAX_SIZE)])
    proc.start()
    proc.wait_ready(30)
    try:
        yield dict(queue=queue, dlq=dlq, channel=channel, worker=proc)
    finally:
        proc.stop()
        try:
            harness.rabbitmqctl("clear_policy", policy)
        except RuntimeError:
            pass
        for q in (queue, dlq):
            try:
                channel.queue_delete(q)
            except Exception:
                pass
        channel.exchange_delete(dlx)
        conn.close()


def _headers(task_id) -> dict:
    return {
        "lang": "py", "task": "arith.add", "id": task_id, "root_id": task_id,
        "parent_id": None, "group": None, "group_index": None, "eta": None,
        "expires": None, "retries": 0, "timelimit": [None, None],
        "argsrepr": "(2, 3)", "kwargsrepr": "{}", "origin": "gen0@plugworker-it",
        "shadow": None, "ignore_result": False, "replaced_task_nesting": 0,
        "stamped_headers": None, "stamps": {},
    }


def _get(channel, queue, timeout):
    deadline = time.monotonic() + timeout
    while True:
        msg = channel.basic_get(queue, no_ack=True)
        if msg is not None or time.monotonic() >= deadline:
            return msg
        time.sleep(0.05)


def _dead_letter(channel, dlq, task_id, timeout):
    """The dead-lettered message published with correlation_id or id header
    `task_id` (others, left by an earlier failed case, are discarded)."""
    deadline = time.monotonic() + timeout
    while True:
        msg = _get(channel, dlq, max(0.0, deadline - time.monotonic()))
        if msg is None:
            return None
        props = msg.properties
        if task_id in (props.get("correlation_id"), props.get("application_headers", {}).get("root_id")):
            return msg


@pytest.mark.parametrize("c", CASES)
def test_bad_message(c, corpus, app):
    channel, queue, dlq, worker = corpus["channel"], corpus["queue"], corpus["dlq"], corpus["worker"]
    reply_queue = f"it-bad-replies-{uuid.uuid4().hex[:12]}"
    channel.queue_declare(reply_queue, durable=False, exclusive=True, auto_delete=True)
    task_id = str(uuid.uuid4())
    headers = _headers(task_id) if c["task_id"] else {k: v for k, v in _headers(task_id).items() if k != "id"}
    headers.update(c["headers"])
    for k in c["drop"]:
        headers.pop(k, None)
    props = dict(content_encoding=c["encoding"], application_headers=headers, delivery_mode=2, priority=0)
    if c["correlation"]:
        props["correlation_id"] = task_id
    if c["content_type"] is not None:
        props["content_type"] = c["content_type"]
    if c["reply"]:
        props["reply_to"] = reply_queue
    channel.basic_publish(amqp.Message(c["body"], **props), exchange="", routing_key=queue)

    # The worker is up and serving.
    assert app.send_task("arith.add", (20, 22), queue=queue).get(timeout=TIMEOUT) == 42, worker.log_text()[-2000:]
    assert worker.alive()

    # A FAILURE result where the message allows one; none otherwise.
    reply = _get(channel, reply_queue, TIMEOUT if c["expect"] != "none" else 0.5)
    if c["expect"] == "success" or isinstance(c["expect"], tuple):
        assert reply is not None, f"no result for {c['name']}:\n{worker.log_text()[-1500:]}"
        result = json.loads(reply.body)
        while result["status"] in ("RETRY", "STARTED"):
            reply = _get(channel, reply_queue, TIMEOUT)
            assert reply is not None, f"no final result for {c['name']}"
            result = json.loads(reply.body)
        if c["expect"] == "success" or result["status"] != "FAILURE":
            assert result["status"] == "SUCCESS", result
        else:
            assert result["result"]["exc_type"] in c["expect"][1], result
        assert _dead_letter(channel, dlq, task_id, 0.5) is None
        return
    if c["expect"] == "none":
        assert reply is None, f"unexpected result for {c['name']}: {reply.body!r}"
    else:
        assert reply is not None, f"no FAILURE result for {c['name']}:\n{worker.log_text()[-1500:]}"
        result = json.loads(reply.body)
        assert result["status"] == "FAILURE" and result["task_id"] == task_id, result
        assert result["result"]["exc_type"] in c["expect"], result
        assert reply.properties.get("correlation_id") == task_id

    # Rejected, so dead-lettered: not dropped in silence, not requeued.
    dead = _dead_letter(channel, dlq, task_id, TIMEOUT)
    assert dead is not None, f"{c['name']} was not rejected to the dead-letter exchange:\n{worker.log_text()[-1500:]}"
    body = dead.body if isinstance(dead.body, bytes) else dead.body.encode(c["encoding"])
    assert body == c["body"]
    deaths = dead.properties.get("application_headers", {}).get("x-death", [])
    assert deaths and deaths[0].get("reason") == "rejected", deaths
    _, ready, _ = channel.queue_declare(queue, passive=True)
    assert ready == 0


def test_duplicate_ids_are_each_answered(corpus, app):
    """Two messages with one id: both run (as Celery's worker does) and the
    worker stays up; the client's result for that id is the first answer."""
    queue, worker = corpus["queue"], corpus["worker"]
    task_id = str(uuid.uuid4())
    first = app.send_task("arith.add", (1, 2), queue=queue, task_id=task_id)
    second = app.send_task("arith.add", (3, 4), queue=queue, task_id=task_id)
    assert first.get(timeout=TIMEOUT) in (3, 7)
    second.forget() if hasattr(second, "forget") else None
    deadline = time.monotonic() + TIMEOUT
    while worker.log_text().count(f"arith.add[{task_id}] succeeded") < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert worker.log_text().count(f"arith.add[{task_id}] succeeded") == 2
    assert app.send_task("arith.add", (20, 22), queue=queue).get(timeout=TIMEOUT) == 42
