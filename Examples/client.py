"""Calls every example task of ./Plugins through stock Celery, as any Python
client would. Start a worker first (scripts/run.sh), then:

    python3 -m venv .venv && .venv/bin/pip install 'celery>=5.3,<6'
    .venv/bin/python Examples/client.py

Nothing here knows that the worker is plugworker.
"""
import os
import time

from celery import Celery
from celery.exceptions import NotRegistered

app = Celery("client",
             broker=os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@localhost:5672//"),
             backend="rpc://")
QUEUE = os.environ.get("PLUGWORKER_QUEUE", "celery")


def call(name, *args, **kwargs):
    return app.send_task(name, args, kwargs, queue=QUEUE).get(timeout=30)


def show(label, thunk):
    try:
        print(f"{label:<40} -> {thunk()!r}")
    except Exception as exc:  # the client re-raises the worker's exception
        print(f"{label:<40} !! {type(exc).__module__}.{type(exc).__name__}: {exc}")


show("arith.add(2, 3)", lambda: call("arith.add", 2, 3))
show("arith.add(a=2, b=40)", lambda: call("arith.add", a=2, b=40))
show("arith.mul(1.5, -4)", lambda: call("arith.mul", 1.5, -4))
show("arith.div(7, -2)", lambda: call("arith.div", 7, -2))
show("arith.div(1, 0)", lambda: call("arith.div", 1, 0))
show("arith.sleep(0.2)", lambda: call("arith.sleep", 0.2))
show("arith.flaky(2)  (retries twice)", lambda: call("arith.flaky", 2))
show("arith.crash()", lambda: call("arith.crash"))
show("text.upper('héllo')", lambda: call("text.upper", "héllo"))
show("text.wordcount({'text': 'a b c'})", lambda: call("text.wordcount", {"text": "a b c"}))
show("arith.add(1)  (wrong arguments)", lambda: call("arith.add", 1))
show("nope()  (not registered)", lambda: call("nope"))
# m.pow exists when the worker runs with
#   --task 'm.pow=libm.so.6:pow(x: double, y: double) -> double'
show("m.pow(2, 10)", lambda: call("m.pow", 2, 10))

start = time.time()
results = [app.send_task("arith.add", (i, i), queue=QUEUE) for i in range(1000)]
ok = all(r.get(timeout=60) == 2 * i for i, r in enumerate(results))
print(f"1000 x arith.add: {'all correct' if ok else 'WRONG'} in {time.time() - start:.2f}s")
