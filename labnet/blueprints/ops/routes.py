"""``/ready`` and ``/metrics``; every request gets an id (``X-Request-ID``), a latency
sample and, with ``LOG_JSON``, one JSON access-log line carrying that id.

``/metrics`` is for the operator's Prometheus only: without ``METRICS_TOKEN`` it answers 404
(off); with it, a scraper sends ``Authorization: Bearer <token>`` and anyone else gets 401.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
import uuid

from flask import Response, abort, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from labnet import clock
from labnet.blueprints.ops import bp
from labnet.extensions import db
from labnet.metrics import REQUEST_SECONDS
from labnet.services.ops import health
from labnet.services.ops.metrics import database_metrics

access_log = logging.getLogger("labnet.access")
# A request id a proxy sent is kept only if it looks like one (no log injection).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@bp.get("/ready")
def ready():
    state = health.readiness(current_app.config,
                             str(current_app.extensions["migrate"].directory))
    response = jsonify({"status": "ready" if state["ready"] else "not ready", **state})
    response.status_code = 200 if state["ready"] else 503
    if not state["ready"]:
        response.headers["Retry-After"] = "5"
    response.cache_control.no_store = True
    return response


@bp.get("/metrics")
def metrics():
    token = current_app.config.get("METRICS_TOKEN") or ""
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("Metrics need the scraper's bearer token.\n", 401,
                        {"WWW-Authenticate": 'Bearer realm="metrics"',
                         "Content-Type": "text/plain; charset=utf-8"})
    from labnet.jobs import JOBS

    jobs = {name: job.interval.total_seconds() for name, job in JOBS.items()}
    up = GaugeMetricFamily("labnet_database_up", "Whether the database answered this scrape")
    try:
        families = database_metrics(now=clock.utcnow(), jobs=jobs)
        up.add_metric([], 1)
    except Exception:  # the database is down: say so, and still report this process
        db.session.rollback()
        current_app.logger.warning("metrics: the database did not answer", exc_info=True)
        families = []
        up.add_metric([], 0)
    body = _process_metrics() + generate_latest(_Families([up, *families]))
    response = Response(body, content_type=CONTENT_TYPE_LATEST)
    response.cache_control.no_store = True
    return response


def _process_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


class _Families:
    """A registry of ready-made metric families (what generate_latest collects)."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return iter(self.families)


@bp.before_app_request
def _start():
    sent = request.headers.get("X-Request-ID", "")
    g.request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


@bp.after_app_request
def _finish(response):
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers["X-Request-ID"] = request_id
    started = g.get("request_started")
    if started is not None:
        seconds = time.perf_counter() - started
        endpoint = request.endpoint or "unmatched"
        REQUEST_SECONDS.labels(endpoint, request.method, str(response.status_code)).observe(
            seconds)
        if current_app.config.get("LOG_JSON"):
            access_log.info("request", extra={
                "method": request.method, "path": request.path, "endpoint": endpoint,
                "status": response.status_code, "duration_ms": round(seconds * 1000, 1)})
    return response
