#!/usr/bin/env bash
# make load: Locust, headless and bounded, against a LabNet already serving on loopback.
#   LOAD_HOST (http://127.0.0.1:8000), LOAD_USERS (20), LOAD_SPAWN (5/s), LOAD_TIME (60s)
# Results: benchmarks/results/load_stats.csv (p50/p95/p99 per page), load_failures.csv.
set -euo pipefail
cd "$(dirname "$0")/../.."
host=${LOAD_HOST:-http://127.0.0.1:8000}
case "$host" in
  http://127.0.0.1:*|http://localhost:*|http://\[::1\]:*) ;;
  *) echo "make load runs against loopback only, not $host" >&2; exit 2 ;;
esac
if ! curl -fsS "$host/ready" >/dev/null; then
  echo "nothing ready at $host: start gunicorn first (README, Load test)" >&2; exit 2
fi
if [ ! -x .venv-load/bin/locust ]; then
  python3 -m venv .venv-load
  .venv-load/bin/pip install -q -r requirements/load.txt
fi
mkdir -p benchmarks/results
exec .venv-load/bin/locust -f benchmarks/load/locustfile.py --headless --host "$host" \
  -u "${LOAD_USERS:-20}" -r "${LOAD_SPAWN:-5}" -t "${LOAD_TIME:-60s}" --stop-timeout 10 \
  --csv benchmarks/results/load --only-summary
