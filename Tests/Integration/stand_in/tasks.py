"""A Python Celery app with the same tasks as the example plugins.

This is a stand-in for plugworker, not a second implementation to maintain:
it exists so that the integration tests (Tests/Integration) can be checked
against a real Python Celery worker, and as the Celery side of the benchmark
(Benchmarks/worker). Each task mirrors the semantics of its plugin in
Plugins/arith.c and Plugins/text.swift, including the exception types, and
is registered under exactly the plugin's task name.

Run it as the integration tests do:

    cd Tests/Integration/stand_in
    celery -A tasks worker -c 3 -P prefork -n it-1@%h -Q somequeue -l info

The broker comes from CELERY_BROKER_URL (default: the local RabbitMQ);
results go through rpc://, like the tests' client.
"""

import os
import signal
import time

from celery import Celery

app = Celery(
    "tasks",
    broker=os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@localhost:5672//"),
    backend="rpc://",
)
app.conf.broker_connection_retry_on_startup = True

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def _int64(name, value):
    """Checks an int64 argument the way plugworker converts one."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"argument {name!r}: expected int64, got {type(value).__name__}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise OverflowError(f"argument {name!r}: out of int64 range")
    return value


def _double(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"argument {name!r}: expected double, got {type(value).__name__}")
    return float(value)


# ---- arith (Plugins/arith.c) ---------------------------------------------


@app.task(name="arith.add")
def add(a, b):
    total = _int64("a", a) + _int64("b", b)
    if not INT64_MIN <= total <= INT64_MAX:
        raise OverflowError("int64 overflow in add")
    return total


@app.task(name="arith.mul")
def mul(a, b):
    return _double("a", a) * _double("b", b)


@app.task(name="arith.div")
def div(a, b):
    a, b = _int64("a", a), _int64("b", b)
    if b == 0:
        raise ZeroDivisionError("integer division or modulo by zero")
    if a == INT64_MIN and b == -1:
        raise OverflowError("int64 overflow in div")
    return a // b  # floor division, like the plugin


@app.task(name="arith.sleep")
def sleep(seconds):
    seconds = _double("seconds", seconds)
    if not seconds >= 0:  # also true for NaN
        raise ValueError("sleep length must be non-negative")
    time.sleep(seconds)
    return None


@app.task(name="arith.crash")
def crash():
    os.kill(os.getpid(), signal.SIGSEGV)


@app.task(name="arith.flaky", bind=True, max_retries=1_000_000)
def flaky(self, failures):
    failures = _int64("failures", failures)
    retries = self.request.retries
    if retries < failures:
        raise self.retry(
            countdown=0.1,
            exc=RuntimeError(f"flaky: retry {retries + 1} of {failures}"),
        )
    return retries


# ---- text (Plugins/text.swift) -------------------------------------------


@app.task(name="text.upper")
def upper(s):
    if not isinstance(s, str):
        raise TypeError(f"argument 's': expected string, got {type(s).__name__}")
    return s.upper()


@app.task(name="text.wordcount")
def wordcount(doc):
    if not isinstance(doc, dict) or not isinstance(doc.get("text"), str):
        raise ValueError('wordcount: expected {"text": string}')
    return {"words": len(doc["text"].split())}
