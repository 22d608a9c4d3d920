"""Settings for a worker of ``bench_embedded_broker``: the test settings with the embedded
broker's tuning replaced from the environment, so the baseline runs beside ours.

``BENCH_BROKER_OPTIONS``: JSON merged into the filesystem transport options, a ``null`` value
removing the option (``{"polling_interval": null}`` is kombu's default of 1 s).
``BENCH_PREFETCH``: the worker prefetch multiplier.
``BENCH_BROKER_URL``: another broker (``sqla+sqlite:///...``, kombu's SQLAlchemy transport),
whose transport options are then only those of ``BENCH_BROKER_OPTIONS``.
"""

from __future__ import annotations

import json
import os

from tests.settings import *  # noqa: F403

if "BENCH_BROKER_URL" in os.environ:
    CELERY_BROKER_URL = os.environ["BENCH_BROKER_URL"]
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
for _option, _value in json.loads(os.environ.get("BENCH_BROKER_OPTIONS", "{}")).items():
    if _value is None:
        CELERY_BROKER_TRANSPORT_OPTIONS.pop(_option, None)  # noqa: F405
    else:
        CELERY_BROKER_TRANSPORT_OPTIONS[_option] = _value  # noqa: F405
if "BENCH_PREFETCH" in os.environ:
    CELERY_WORKER_PREFETCH_MULTIPLIER = int(os.environ["BENCH_PREFETCH"])
