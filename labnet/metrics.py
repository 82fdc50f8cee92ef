"""Prometheus instruments of this process (prometheus-client), read by ``/metrics``.

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
(the compose file and systemd units do): each worker then writes its samples there and
``/metrics`` adds them up (``gunicorn.conf.py`` marks a dead worker's files). Figures kept
in the database (bookings and requests by outcome, job runs and lag, the outbox) are read
at scrape time instead (:mod:`labnet.services.ops.metrics`), so every host reports the same.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Histogram

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # every process of the image writes there
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

REQUEST_SECONDS = Histogram(
    "labnet_http_request_duration_seconds", "Time to answer a request, by endpoint",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0))
CACHE_LOOKUPS = Counter(
    "labnet_cache_lookups_total", "Lookups in the shared caches, by cache and result",
    ["cache", "result"])
