# LabNet: gunicorn behind a reverse proxy (compose.yaml), non-root, with a health check.
# Build: docker build -t labnet .   The same image runs the web app, the scheduler
# (`flask labnet scheduler`), the migrations (`flask db upgrade`) and backups.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    FLASK_APP=labnet:create_app LABNET_ENV_NAME=production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/labnet-metrics

# pg_dump/pg_restore for `flask labnet backup` and `restore` on PostgreSQL.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system labnet && useradd --system --gid labnet --home-dir /app labnet
WORKDIR /app
COPY requirements/run.txt requirements/run.txt
RUN pip install -r requirements/run.txt
COPY pyproject.toml README.md wsgi.py gunicorn.conf.py ./
COPY labnet labnet
COPY migrations migrations
# Editable: the code runs from /app, beside its migrations/ (flask db upgrade, /ready).
RUN pip install --no-deps -e . && mkdir -p instance && chown -R labnet:labnet /app/instance

USER labnet
EXPOSE 8000
VOLUME ["/app/instance"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
