"""gunicorn settings for production (the container image and the systemd unit use them).

Workers: ``WEB_CONCURRENCY`` (default 2 × cores + 1). Metrics: with
``PROMETHEUS_MULTIPROC_DIR`` set, each worker writes its samples there and a dead
worker's files are marked, so ``/metrics`` adds up every live worker.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # noqa: S104 - behind the proxy
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Sync workers, one request each: the word search's cached Snowball stemmers are not
# thread-safe (a threaded worker got IndexError from snowballstemmer under `make load`).
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Restart each worker now and then (a slow leak cannot grow without bound).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# The app writes JSON lines with the request id; gunicorn's own access log would repeat it.
accesslog = None
errorlog = "-"
# The proxy in front (Caddy) sets X-Forwarded-*; LABNET_PROXY_FIX_X_FOR=1 lets the app
# read the client address from it (rate limits).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):  # samples of an earlier run are not this run's
            os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
