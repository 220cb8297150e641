"""The smallest Celery app for the stock command-line tools.

The integration tests run ``celery -A cli_app -b <broker> inspect|control|flower
...`` with this directory on PYTHONPATH. The app has no tasks of its own: the
remote-control commands and Flower only need a broker (given with ``-b`` or
CELERY_BROKER_URL) and the default JSON serializer.
"""

import os

from celery import Celery

app = Celery(
    "plugworker-it-cli",
    broker=os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@localhost:5672//"),
)
app.conf.broker_connection_retry_on_startup = True
