# ruff: noqa: S603, S607, S108 - this script starts local tools (initdb, pg_ctl, psql,
# redis-server, gunicorn, Locust) on paths it chooses; it is run by hand, not by the app.
"""``make load``: the whole load measurement in one command (issue 16).

1. A private PostgreSQL cluster (``initdb`` under ``LOAD_PG_DIR``, port ``LOAD_PG_PORT``) and
   a private ``redis-server`` (``LOAD_REDIS_PORT``) — never the shared servers, since the
   fault run restarts them. ``LOAD_DATABASE_URL`` uses a database of yours instead (then
   the PostgreSQL restart is left out of the fault run).
2. The catalogue, once: migrations, the demo data (the accounts the locustfile signs in
   with), ``seed_synthetic`` up to ``LOAD_LABS`` labs / ``LOAD_EQUIPMENT`` equipment and
   ``seed_bookings`` up to ``LOAD_BOOKINGS`` bookings. A database that has them is reused.
3. gunicorn (``gunicorn.conf.py``, ``LOAD_WORKERS`` sync workers) on ``LOAD_PORT``.
4. Steps: Locust at ``LOAD_STEPS`` users (each ``LOAD_STEP_TIME`` after the ramp) until p95
   reaches ``LOAD_P95_MS`` or a request fails; the last step that held is "the rate".
5. Soak: ``LOAD_SOAK_TIME`` at 70 % of that step's users; RSS of each worker at start and end.
6. Faults under the soak's load: PostgreSQL restarted, then Redis, then ``kill -9`` of a busy
   worker; every answer is logged, and the bookings the clients were told about are counted
   in the database afterwards.

Results: ``benchmarks/results/load-<UTC time>.json`` and ``load-<UTC time>-steps.csv``; a
summary table on stdout, progress on stderr. ``LOAD_SMOKE=1`` is a short run (tiny catalogue,
two short steps, a short soak and the faults) to check the machinery.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
LOCUST = ROOT / ".venv-load" / "bin" / "locust"
PG_BIN = Path(os.environ.get("LOAD_PG_BIN", "/usr/lib/postgresql/15/bin"))


def env(name: str, default: str) -> str:
    return os.environ.get(name, default)


SMOKE = env("LOAD_SMOKE", "") not in ("", "0")
SETTINGS: dict[str, Any] = {
    "labs": int(env("LOAD_LABS", "200" if SMOKE else "10000")),
    "equipment": int(env("LOAD_EQUIPMENT", "2000" if SMOKE else "100000")),
    "bookings": int(env("LOAD_BOOKINGS", "20000" if SMOKE else "1000000")),
    "steps": [int(u) for u in env("LOAD_STEPS", "5,10" if SMOKE
                                  else "2,5,10,20,40,60,80,120,160").split(",")],
    "step_seconds": int(env("LOAD_STEP_TIME", "20" if SMOKE else "60")),
    "spawn_rate": float(env("LOAD_SPAWN", "5")),
    "p95_ms": float(env("LOAD_P95_MS", "300")),
    "soak_seconds": int(env("LOAD_SOAK_TIME", "30" if SMOKE else "600")),
    "soak_share": float(env("LOAD_SOAK_SHARE", "0.7")),
    "fault_gap_seconds": int(env("LOAD_FAULT_GAP", "15" if SMOKE else "30")),
    "workers": int(env("LOAD_WORKERS", str((os.cpu_count() or 1) * 2 + 1))),
    "port": int(env("LOAD_PORT", "8099")),
    "pg_dir": Path(env("LOAD_PG_DIR", "/tmp/load-pg")),
    "pg_port": int(env("LOAD_PG_PORT", "5499")),
    "redis_port": int(env("LOAD_REDIS_PORT", "6399")),
    "database_url": env("LOAD_DATABASE_URL", ""),
    "pg_database": env("LOAD_PG_DB", "labnet_load_smoke" if SMOKE else "labnet_load"),
    "phases": env("LOAD_PHASES", "steps,soak,faults").split(","),
    "fixed_users": int(env("LOAD_USERS", "0")),  # skip the steps: the rate's users given
}


def note(message: str) -> None:
    sys.stderr.write(f"[load {datetime.now(UTC):%H:%M:%S}] {message}\n")
    sys.stderr.flush()


def uptime() -> str:
    """The load average now (the machine is shared: every figure carries it)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


# --- private PostgreSQL and Redis -------------------------------------------------------------

def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["su", "postgres", "-c", " ".join(cmd)]


def pg_ctl(action: str) -> None:
    data = SETTINGS["pg_dir"] / "data"
    cmd = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(SETTINGS["pg_dir"] / "log")]
    if action in ("start", "restart"):
        cmd += ["-o", f"'-p {SETTINGS['pg_port']} -k {SETTINGS['pg_dir']} "
                      "-c listen_addresses=127.0.0.1 -c shared_buffers=512MB "
                      "-c max_connections=200'"]
    if action in ("stop", "restart"):
        cmd += ["-m", "fast"]
    cmd.append(action)
    subprocess.run(_as_postgres(cmd), check=True, stdout=subprocess.DEVNULL)


def private_postgres() -> str:
    folder: Path = SETTINGS["pg_dir"]
    data = folder / "data"
    if not (data / "PG_VERSION").exists():
        note(f"initdb {data}")
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, stdout=subprocess.DEVNULL)
    if subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "status"]),
                      stdout=subprocess.DEVNULL).returncode != 0:
        note(f"starting PostgreSQL on port {SETTINGS['pg_port']}")
        pg_ctl("start")
    url = (f"postgresql://postgres@127.0.0.1:{SETTINGS['pg_port']}/"
           f"{SETTINGS['pg_database']}")
    exists = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(SETTINGS["pg_port"]), "-U", "postgres", "-tAc",
         f"SELECT 1 FROM pg_database WHERE datname = '{SETTINGS['pg_database']}'"],
        check=True, capture_output=True, text=True).stdout.strip()
    if not exists:
        subprocess.run(["createdb", "-h", "127.0.0.1", "-p", str(SETTINGS["pg_port"]),
                        "-U", "postgres", SETTINGS["pg_database"]], check=True)
    return url


def redis_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["redis-cli", "-p", str(SETTINGS["redis_port"]), *args],
                          capture_output=True, text=True)


def redis_start() -> None:
    subprocess.run(["redis-server", "--port", str(SETTINGS["redis_port"]), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--daemonize", "yes",
                    "--pidfile", f"/tmp/load-redis-{SETTINGS['redis_port']}.pid"],
                   check=True, stdout=subprocess.DEVNULL)
    for _ in range(50):
        if redis_cli("ping").stdout.strip() == "PONG":
            return
        time.sleep(0.1)
    raise RuntimeError("private redis-server did not answer")


def private_redis() -> str:
    if redis_cli("ping").stdout.strip() != "PONG":
        note(f"starting redis-server on port {SETTINGS['redis_port']}")
        redis_start()
    return f"redis://127.0.0.1:{SETTINGS['redis_port']}/0"


# --- the catalogue ----------------------------------------------------------------------------

def seed(database_url: str) -> dict[str, Any]:
    """Migrations, demo data, synthetic catalogue and bookings up to the sizes asked for."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import func, select, text

    from benchmarks.bookings import seed_bookings
    from labnet import create_app
    from labnet.extensions import db
    from labnet.models import Booking, Equipment, Lab
    from labnet.services.seed import seed_demo, seed_synthetic

    app = create_app({"DATABASE_URL": database_url, "ENV_NAME": "development"},
                     instance_path=str(RESULTS / "load-instance"))
    started = time.monotonic()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
        # The synthetic catalogue and its bookings first, the demo data last: the booking
        # loader checks that no two active bookings overlap over the whole table, and the
        # demo's own bookings would meet its rows on the demo equipment.
        if not db.session.scalar(select(Lab.id).where(Lab.slug == "fraunhofer-ilt")):
            labs = db.session.scalar(select(func.count(Lab.id))) or 0
            if labs < SETTINGS["labs"]:
                note(f"seeding {SETTINGS['labs'] - labs:,} labs / {SETTINGS['equipment']:,} "
                     "equipment")
                seed_synthetic(labs=SETTINGS["labs"] - labs, equipment=SETTINGS["equipment"],
                               seed=1, now=datetime.now(UTC))
            bookings = db.session.scalar(select(func.count(Booking.id))) or 0
            db.session.commit()  # seed_bookings alters the table: hold no lock on it here
            if SETTINGS["bookings"] > bookings:
                note(f"seeding {SETTINGS['bookings'] - bookings:,} bookings")
                seed_bookings(app, SETTINGS["bookings"] - bookings, now=datetime.now(UTC))
            note("seeding the demo data (the accounts the locustfile signs in with)")
            # The demo's own activity books active published equipment at random: hide the
            # synthetic equipment (booked already) meanwhile, then put it back as it was.
            db.session.execute(text("CREATE TEMP TABLE load_hidden AS SELECT id FROM equipment "
                                    "WHERE status = 'active'"))
            db.session.execute(text("UPDATE equipment SET status = 'retired' "
                                    "WHERE id IN (SELECT id FROM load_hidden)"))
            seed_demo(now=datetime.now(UTC))
            db.session.execute(text("UPDATE equipment SET status = 'active' "
                                    "WHERE id IN (SELECT id FROM load_hidden)"))
            db.session.execute(text("DROP TABLE load_hidden"))
            db.session.commit()
        tables = ", ".join(t.name for t in db.metadata.sorted_tables)
        db.session.execute(text(f"ANALYZE {tables}"))
        db.session.commit()
        sizes = {"labs": db.session.scalar(select(func.count(Lab.id))),
                 "equipment": db.session.scalar(select(func.count(Equipment.id))),
                 "bookings": db.session.scalar(select(func.count(Booking.id)))}
    note(f"catalogue ready: {sizes} ({time.monotonic() - started:.0f} s)")
    return sizes


# --- gunicorn ---------------------------------------------------------------------------------

class Server:
    def __init__(self, database_url: str, redis_url: str) -> None:
        self.url = f"http://127.0.0.1:{SETTINGS['port']}"
        self.log = RESULTS / "load-gunicorn.log"
        self.env = {**os.environ, "LABNET_DATABASE_URL": database_url,
                    "LABNET_REDIS_URL": redis_url, "LABNET_ENV_NAME": "development",
                    "LABNET_BASE_URL": self.url, "LABNET_SECRET_KEY": "load-test-" + "k" * 40,
                    "LABNET_LOG_JSON": "false", "GUNICORN_BIND": f"127.0.0.1:{SETTINGS['port']}",
                    "WEB_CONCURRENCY": str(SETTINGS["workers"]),
                    # The soak measures growth per worker: no recycling during the run.
                    "GUNICORN_MAX_REQUESTS": "0"}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.proc = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"],
                                     cwd=ROOT, env=self.env, stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.get("/ready")[0] == 200:
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn stopped: see {self.log}")
            time.sleep(0.5)
        raise RuntimeError("gunicorn not ready in 120 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def get(self, path: str) -> tuple[int, dict[str, str]]:
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:  # noqa: S310
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers)
        except OSError:
            return 0, {}

    def workers(self) -> list[int]:
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in children.read_text().split()]


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


# --- Locust -----------------------------------------------------------------------------------

def ensure_locust() -> None:
    if not LOCUST.exists():
        note("installing Locust into .venv-load")
        subprocess.run([sys.executable.replace("/.venv/", "/.venv/"), "-m", "venv",
                        str(ROOT / ".venv-load")], check=True)
        subprocess.run([str(ROOT / ".venv-load/bin/pip"), "install", "-q", "-r",
                        str(ROOT / "requirements/load.txt")], check=True)


def locust(host: str, users: int, seconds: int, prefix: str, *, log: Path | None = None,
           run_id: str = "", background: bool = False) -> subprocess.Popen[bytes] | dict[str, Any]:
    ramp = max(1, int(users / SETTINGS["spawn_rate"]))
    cmd = [str(LOCUST), "-f", str(ROOT / "benchmarks/load/locustfile.py"), "--headless",
           "--host", host, "-u", str(users), "-r", str(SETTINGS["spawn_rate"]),
           "-t", f"{seconds + ramp}s", "--stop-timeout", "10", "--reset-stats",
           "--csv", str(RESULTS / prefix), "--only-summary", "--loglevel", "WARNING"]
    child_env = {**os.environ, "LOAD_RUN_ID": run_id}
    if log is not None:
        child_env["LOAD_LOG"] = str(log)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=child_env, stdout=subprocess.DEVNULL,
                            stderr=(RESULTS / f"{prefix}.log").open("wb"))
    if background:
        return proc
    proc.wait()
    return read_stats(RESULTS / f"{prefix}_stats.csv")


def read_stats(path: Path) -> dict[str, Any]:
    pages: dict[str, Any] = {}
    with path.open() as fh:
        for row in csv.DictReader(fh):
            name = ("Aggregated" if row["Name"] == "Aggregated"
                    else f"{row['Type']} {row['Name']}")
            pages[name] = {"requests": int(row["Request Count"]),
                           "failures": int(row["Failure Count"]),
                           "rps": round(float(row["Requests/s"]), 2),
                           "p50": _ms(row["50%"]), "p95": _ms(row["95%"]),
                           "p99": _ms(row["99%"]), "max": _ms(row["Max Response Time"])}
    return pages


def _ms(value: str) -> float | None:
    return None if value in ("", "N/A") else float(value)


# --- phases -----------------------------------------------------------------------------------

def run_steps(server: Server) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    steps: list[dict[str, Any]] = []
    held: dict[str, Any] | None = None
    for users in SETTINGS["steps"]:
        note(f"step: {users} users for {SETTINGS['step_seconds']} s (load {uptime()})")
        load_before = uptime()
        pages = locust(server.url, users, SETTINGS["step_seconds"], f"load-step-{users}")
        assert isinstance(pages, dict)
        total = pages.get("Aggregated", {})
        step = {"users": users, "rps": total.get("rps"), "p50": total.get("p50"),
                "p95": total.get("p95"), "p99": total.get("p99"),
                "failures": total.get("failures"), "requests": total.get("requests"),
                "uptime_before": load_before, "uptime_after": uptime(), "pages": pages}
        steps.append(step)
        ok = (total.get("failures", 1) == 0 and total.get("p95") is not None
              and total["p95"] < SETTINGS["p95_ms"])
        note(f"  {total.get('rps')} req/s, p50 {total.get('p50')} p95 {total.get('p95')} "
             f"p99 {total.get('p99')} ms, {total.get('failures')} failures: "
             f"{'held' if ok else 'broke'}")
        if not ok:
            break
        held = step
    return steps, held


def run_soak(server: Server, users: int) -> dict[str, Any]:
    workers = server.workers()
    start_rss = {pid: rss_kb(pid) for pid in workers}
    note(f"soak: {users} users for {SETTINGS['soak_seconds']} s, workers {workers} "
         f"(load {uptime()})")
    load_before = uptime()
    proc = locust(server.url, users, SETTINGS["soak_seconds"], "load-soak", background=True)
    assert isinstance(proc, subprocess.Popen)
    # RSS after the ramp and a first minute (imports and caches warm), then at the end.
    warm = min(60, SETTINGS["soak_seconds"] // 5)
    time.sleep(users / SETTINGS["spawn_rate"] + warm)
    warm_rss = {pid: rss_kb(pid) for pid in workers}
    samples = []
    while proc.poll() is None:
        samples.append({"t": round(time.monotonic()), "uptime": uptime(),
                        "rss_kb": {pid: rss_kb(pid) for pid in workers}})
        time.sleep(30)
    end_rss = {pid: rss_kb(pid) for pid in workers}
    pages = read_stats(RESULTS / "load-soak_stats.csv")
    history = drift(RESULTS / "load-soak_stats_history.csv")
    per_worker = []
    for pid in workers:
        first, last = warm_rss.get(pid), end_rss.get(pid)
        per_worker.append({"pid": pid, "rss_kb_start": start_rss.get(pid),
                           "rss_kb_warm": first, "rss_kb_end": last,
                           "growth_pct": round(100 * (last - first) / first, 1)
                           if first and last else None,
                           "alive_at_end": pid in server.workers()})
    return {"users": users, "seconds": SETTINGS["soak_seconds"], "pages": pages,
            "workers": per_worker, "p95_drift": history, "uptime_before": load_before,
            "uptime_after": uptime(), "samples": samples}


def drift(path: Path) -> dict[str, Any]:
    """p95 (Locust's running figure) in the first and the last fifth of the soak."""
    rows = []
    try:
        with path.open() as fh:
            for row in csv.DictReader(fh):
                if row["Name"] == "Aggregated" and row["95%"] not in ("", "N/A", "0"):
                    rows.append(float(row["95%"]))
    except OSError:
        return {}
    if len(rows) < 5:
        return {"samples": len(rows)}
    fifth = len(rows) // 5
    return {"samples": len(rows), "p95_first_fifth_ms": max(rows[:fifth]),
            "p95_last_fifth_ms": max(rows[-fifth:])}


def run_faults(server: Server, users: int, database_url: str, private_pg: bool) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:12]
    log = RESULTS / "load-faults-requests.csv"
    log.unlink(missing_ok=True)
    gap = SETTINGS["fault_gap_seconds"]
    steps = (["postgres"] if private_pg else []) + ["redis", "worker"]
    seconds = gap * (len(steps) + 1) + 10
    counts_before = count_rows(database_url, run_id)
    note(f"faults: {users} users for {seconds} s, run {run_id} (load {uptime()})")
    proc = locust(server.url, users, seconds, "load-faults", log=log, run_id=run_id,
                  background=True)
    assert isinstance(proc, subprocess.Popen)
    time.sleep(users / SETTINGS["spawn_rate"] + gap)
    events = []
    mid_request = False
    for what in steps:
        at = time.time()
        load = uptime()
        if what == "postgres":
            note("  restarting PostgreSQL")
            pg_ctl("restart")
        elif what == "redis":
            note("  restarting Redis")
            redis_cli("shutdown", "nosave")
            time.sleep(1)
            redis_start()
        else:
            victim, mid_request = busiest_worker(server)
            note(f"  kill -9 worker {victim} ({'mid-request' if mid_request else 'idle'})")
            os.kill(victim, signal.SIGKILL)
        done = time.time()
        recovered = wait_normal(server)
        events.append({"fault": what, "at": at, "done": done, "uptime": load,
                       "worker_mid_request": mid_request if what == "worker" else None,
                       "seconds_until_ready": round(recovered - done, 2)
                       if recovered else None})
        note(f"  {what}: answering normally {events[-1]['seconds_until_ready']} s after")
        time.sleep(gap)
    proc.wait()
    counts_after = count_rows(database_url, run_id)
    answers = classify(log, events)
    return {"run_id": run_id, "users": users, "events": events, "answers": answers,
            "bookings": check_bookings(database_url, run_id, log),
            "counts_before": counts_before, "counts_after": counts_after,
            "pages": read_stats(RESULTS / "load-faults_stats.csv"), "uptime_after": uptime()}


def busiest_worker(server: Server, limit: float = 10) -> tuple[int, bool]:
    """A worker in the middle of a request: one holding an established connection on the
    server's port (a sync worker has one only while it serves a request). Returns the pid
    and whether it was caught mid-request (else the first worker, after ``limit`` s)."""
    port = f"{SETTINGS['port']:04X}"
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        established = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if fields[1].endswith(f":{port}") and fields[3] == "01":
                    established.add(f"socket:[{fields[9]}]")
        for pid in server.workers():
            try:
                fds = {os.readlink(f) for f in Path(f"/proc/{pid}/fd").iterdir()}
            except OSError:
                continue
            if fds & established:
                return pid, True
        time.sleep(0.01)
    return server.workers()[0], False


def wait_normal(server: Server, limit: float = 120) -> float | None:
    """The moment ``/ready`` and a catalogue page answer 200 again."""
    deadline = time.time() + limit
    while time.time() < deadline:
        if server.get("/ready")[0] == 200 and server.get("/labs?q=laser")[0] == 200:
            return time.time()
        time.sleep(0.25)
    return None


def psql(database_url: str, sql: str) -> str:
    return subprocess.run(["psql", database_url, "-tAc", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def count_rows(database_url: str, run_id: str) -> dict[str, int]:
    tables = ("booking", "lab_request", "event_registration")
    counts = {}
    for table in tables:
        try:
            counts[table] = int(psql(database_url, f"SELECT count(*) FROM {table}"))
        except (subprocess.CalledProcessError, ValueError):
            continue
    counts["booking_this_run"] = int(psql(
        database_url, f"SELECT count(*) FROM booking WHERE purpose = 'Load test {run_id}'"))
    return counts


def classify(log: Path, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Answers by kind, overall and in the 15 s after each fault."""
    out: dict[str, Any] = {"total": {}, "after": {e["fault"]: {} for e in events}}
    try:
        rows = list(csv.DictReader(log.open()))
    except OSError:
        return out
    for row in rows:
        kind = answer_kind(row)
        out["total"][kind] = out["total"].get(kind, 0) + 1
        t = float(row["t"])
        for e in events:
            if e["at"] <= t <= e["done"] + 15:
                bucket = out["after"][e["fault"]]
                bucket[kind] = bucket.get(kind, 0) + 1
    return out


def answer_kind(row: dict[str, str]) -> str:
    status = int(row["status"] or 0)
    if status == 0:
        return "connection error"
    if status == 503:
        return "503 with Retry-After" if row["retry_after"] else "503 without Retry-After"
    if status >= 500:
        return f"{status}" + (" traceback" if row["traceback"] == "1" else "")
    return "answered"


def check_bookings(database_url: str, run_id: str, log: Path) -> dict[str, Any]:
    """Every booking a client was told about (302 to /bookings/<id>) exists; no booking of
    this run exists that no client was told about, beyond requests whose answer was lost."""
    told: set[int] = set()
    lost = 0
    try:
        for row in csv.DictReader(log.open()):
            if row["name"] != "/equipment/<id>/book POST":
                continue
            if row["status"] == "302" and "/bookings/" in row["location"]:
                told.add(int(row["location"].rstrip("/").rsplit("/", 1)[1]))
            elif row["status"] in ("0", "") or int(row["status"]) >= 500:
                lost += 1
    except OSError:
        pass
    rows = {int(i) for i in psql(database_url, f"SELECT id FROM booking WHERE purpose = "
                                                f"'Load test {run_id}'").split() if i}
    half = int(psql(database_url, f"SELECT count(*) FROM booking WHERE purpose = 'Load test "
                                  f"{run_id}' AND (reference IS NULL OR lab_id IS NULL OR "
                                  "organisation_id IS NULL)") or 0)
    return {"told_created": len(told), "in_database": len(rows),
            "told_but_missing": len(told - rows), "unreported": len(rows - told),
            "answers_lost_or_failed": lost, "half_written": half,
            "ok": not (told - rows) and len(rows - told) <= lost and half == 0}


# --- the report -------------------------------------------------------------------------------

def table(pages: dict[str, Any]) -> list[str]:
    lines = [f"  {'page':<38} {'req':>6} {'fail':>5} {'req/s':>7} {'p50':>6} {'p95':>6} "
             f"{'p99':>6}"]
    for name, p in sorted(pages.items(), key=lambda kv: kv[0] == "Aggregated"):
        lines.append(f"  {name[:38]:<38} {p['requests']:>6} {p['failures']:>5} {p['rps']:>7} "
                     f"{p['p50'] or '-':>6} {p['p95'] or '-':>6} {p['p99'] or '-':>6}")
    return lines


def summary(doc: dict[str, Any]) -> str:
    out = [f"LabNet load test {doc['started']} — {doc['catalogue']}, {doc['workers']} workers, "
           f"{os.cpu_count()} cores (load average at start {doc['uptime_start']})", ""]
    if doc.get("steps"):
        out.append("Steps (users → req/s, ms; load average after the step):")
        for s in doc["steps"]:
            out.append(f"  {s['users']:>4} users {s['rps']:>7} req/s  p50 {s['p50']}  p95 "
                       f"{s['p95']}  p99 {s['p99']}  failures {s['failures']}  "
                       f"load {s['uptime_after']}")
    held = doc.get("held")
    if held:
        out += ["", f"Highest step held (p95 < {SETTINGS['p95_ms']:.0f} ms, 0 errors): "
                    f"{held['users']} users, {held['rps']} req/s", *table(held["pages"])]
    soak = doc.get("soak")
    if soak:
        out += ["", f"Soak: {soak['users']} users, {soak['seconds']} s, p95 drift "
                    f"{soak['p95_drift']}", *table(soak["pages"]), "  workers (RSS kB warm → end):"]
        for w in soak["workers"]:
            out.append(f"    pid {w['pid']}: {w['rss_kb_warm']} → {w['rss_kb_end']} "
                       f"({w['growth_pct']} %)")
    faults = doc.get("faults")
    if faults:
        out += ["", f"Faults ({faults['users']} users):"]
        for e in faults["events"]:
            out.append(f"  {e['fault']:<9} normal again after {e['seconds_until_ready']} s; "
                       f"answers in the 15 s after: {faults['answers']['after'][e['fault']]}")
        out.append(f"  all answers: {faults['answers']['total']}")
        out.append(f"  bookings: {faults['bookings']}")
    return "\n".join(out)


def _stop(_signum: int, _frame: Any) -> None:
    raise SystemExit(143)  # run the finally blocks: gunicorn stopped, results written


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    private_pg = not SETTINGS["database_url"]
    database_url = SETTINGS["database_url"] or private_postgres()
    redis_url = private_redis()
    ensure_locust()
    catalogue = seed(database_url)
    if SETTINGS["phases"] == ["seed"]:
        return 0
    server = Server(database_url, redis_url)
    doc: dict[str, Any] = {"started": stamp, "smoke": SMOKE, "catalogue": catalogue,
                           "workers": SETTINGS["workers"], "cores": os.cpu_count(),
                           "uptime_start": uptime(),
                           "settings": {k: str(v) for k, v in SETTINGS.items()}}
    note(f"gunicorn with {SETTINGS['workers']} workers on {server.url}")
    server.start()
    try:
        # Templates compiled, caches filled, connections opened: not part of any figure.
        note("warm-up: 5 users for 20 s")
        locust(server.url, 5, 20, "load-warmup")
        users = SETTINGS["fixed_users"]
        if "steps" in SETTINGS["phases"] and not users:
            doc["steps"], doc["held"] = run_steps(server)
            users = doc["held"]["users"] if doc["held"] else SETTINGS["steps"][0]
        users = users or SETTINGS["steps"][0]
        share = max(1, round(users * SETTINGS["soak_share"]))
        if "soak" in SETTINGS["phases"]:
            doc["soak"] = run_soak(server, share)
        if "faults" in SETTINGS["phases"]:
            doc["faults"] = run_faults(server, share, database_url, private_pg)
    finally:
        server.stop()
        doc["uptime_end"] = uptime()
        out = RESULTS / f"load-{stamp}.json"
        out.write_text(json.dumps(doc, indent=2, default=str))
        with (RESULTS / f"load-{stamp}-steps.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["phase", "users", "page", "requests", "failures", "rps", "p50",
                             "p95", "p99", "uptime"])
            phases = [(f"step {s['users']}", s) for s in doc.get("steps", [])]
            phases += [(name, doc[name]) for name in ("soak", "faults") if doc.get(name)]
            for label, part in phases:
                for page, p in part["pages"].items():
                    writer.writerow([label, part.get("users"), page, p["requests"],
                                     p["failures"], p["rps"], p["p50"], p["p95"], p["p99"],
                                     part.get("uptime_after")])
        note(f"wrote {out}")
    print(summary(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
