"""Two app hosts on one PostgreSQL and one Redis behave as one (issue 16).

Two gunicorn instances (two workers each, different ports) serve the same database and
Redis: a session made on one works on the other; a login limit reached through both holds
on both; a change saved through one shows at once on the other's map data, search and
dashboard (their caches are warm and live 60–300 s); booking requests racing through both
give exactly one booking; two schedulers run each job once per period. PostgreSQL suite
(``make test-postgres``); Redis at LABNET_TEST_REDIS_URL (default database 5 of the local
server; .ci/run starts one).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import time as clock_time
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import func, select

from labnet import clock, jobs
from labnet.extensions import db
from labnet.models import Booking, JobLock, OpeningHours, Role
from tests.fixtures.factories import PASSWORD

pytestmark = pytest.mark.postgres

REDIS_URL = os.environ.get("LABNET_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Form(HTMLParser):
    """The fields of the form that holds ``field`` (inputs, text areas, selects)."""

    def __init__(self, field: str) -> None:
        super().__init__()
        self.field, self.forms, self.current = field, [], None
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = {}
            self.forms.append(self.current)
        elif self.current is None:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("type") == "submit":
                return
            self.current[a["name"]] = a.get("value") or ("y" if a.get("type") == "checkbox"
                                                         else "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self.current[a["name"]] = ""
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self.current.setdefault(a["name"], "")
        elif tag == "option" and self._select and "selected" in a:
            self.current[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self.current = None

    def handle_data(self, data):
        if self._textarea and self.current is not None:
            self.current[self._textarea] += data

    def values(self) -> dict[str, str]:
        return next(f for f in self.forms if self.field in f)


def form_of(html: str, field: str) -> dict[str, str]:
    parser = _Form(field)
    parser.feed(html)
    return parser.values()


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token"
    return match.group(1)


class Host:
    def __init__(self, url: str, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.proc = subprocess.Popen(  # noqa: S603
            [str(GUNICORN), "-w", "2", "-b", f"127.0.0.1:{self.port}", "--timeout", "60",
             "wsgi:app"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/ready", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert self.proc.poll() is None, "gunicorn stopped"
            time.sleep(0.3)
        raise AssertionError("gunicorn not ready in 120 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _login(session: requests.Session, host: Host, email: str, password: str = PASSWORD):
    page = session.get(host.base + "/login").text
    return session.post(host.base + "/login", data={
        "csrf_token": csrf(page), "email": email, "password": password},
        allow_redirects=False)


@pytest.fixture
def shared_redis():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"the multi-host test needs Redis at {REDIS_URL}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def test_two_hosts_behave_as_one(app, make_lab, make_equipment, make_user, shared_redis,
                                 tmp_path):
    lab = make_lab(name="Twin Host Lab", timezone="UTC", requires_approval=False,
                   min_lead_hours=0, country="DE")
    with app.app_context():
        for day in range(7):
            db.session.add(OpeningHours(lab_id=lab.id, weekday=day, opens_at=clock_time(6),
                                        closes_at=clock_time(20)))
        db.session.commit()
        url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://",
                                                             "postgresql://")
        db.engine.dispose()
    item = make_equipment(lab, booking_unit="hour", min_units=1, max_units=4)
    manager = make_user(manages=(lab,))
    admin = make_user(roles=(Role.ADMIN,))
    bookers = [make_user(), make_user()]
    env = {**os.environ, "LABNET_DATABASE_URL": url, "LABNET_REDIS_URL": REDIS_URL,
           "LABNET_SECRET_KEY": "multi-host-test-" + "k" * 40,
           "LABNET_BASE_URL": "http://127.0.0.1", "LABNET_ENV_NAME": "development",
           "LABNET_LOGIN_LIMIT_PER_IP": "4/minute", "LABNET_GEOJSON_CACHE_SECONDS": "60",
           "LABNET_FACET_CACHE_SECONDS": "60", "LABNET_DASHBOARD_CACHE_SECONDS": "300",
           "LABNET_ARGON2_TIME_COST": "1", "LABNET_ARGON2_MEMORY_COST": "8"}
    env.pop("LABNET_RATELIMIT_STORAGE_URI", None)
    hosts = [Host(url, env, tmp_path / f"host{i}.log") for i in range(2)]
    try:
        for h in hosts:
            h.wait()
        a, b = hosts

        # A session made on A works on B.
        people = requests.Session()
        assert _login(people, a, manager.email).status_code == 302
        assert people.get(b.base + "/manage", allow_redirects=False).status_code == 200

        # Warm B's caches: map data and search for a word the lab does not have yet, and
        # the dashboard's supply by country.
        office = requests.Session()
        assert _login(office, b, admin.email).status_code == 302
        geo = b.base + "/map/labs.geojson?q=zeolitex"
        assert "Twin Host Lab" not in people.get(geo).text
        assert "Twin Host Lab" not in people.get(b.base + "/labs?q=zeolitex").text
        supply = office.get(b.base + "/dashboard/supply-country.csv")
        assert supply.status_code == 200 and "France" not in supply.text

        # A change through A: new capability words and another country.
        edit = people.get(f"{a.base}/manage/labs/{lab.slug}").text
        data = form_of(edit, "capabilities")
        data.update(capabilities="Zeolitex membrane testing", country="FR",
                    city="Lyon", lat="45.76", lon="4.83")
        saved = people.post(f"{a.base}/manage/labs/{lab.slug}", data=data,
                            allow_redirects=False)
        assert saved.status_code == 302, saved.text[:2000]
        # … shows on B at once, although B's entries would live another minute.
        assert "Twin Host Lab" in people.get(geo).text
        assert "Twin Host Lab" in people.get(b.base + "/labs?q=zeolitex").text
        assert "France" in office.get(b.base + "/dashboard/supply-country.csv").text

        # Booking requests racing through both hosts: exactly one booking.
        start = (clock.utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT10:00")
        end = (clock.utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT12:00")
        clients, pages = [], []
        for booker, host in zip(bookers, hosts, strict=True):
            s = requests.Session()
            assert _login(s, host, booker.email).status_code == 302
            page = s.get(f"{host.base}/equipment/{item.id}/book").text
            clients.append((s, host))
            pages.append(csrf(page))
        barrier = threading.Barrier(2)
        answers: list[int] = []

        def book(i: int) -> None:
            s, host = clients[i]
            barrier.wait()
            answers.append(s.post(f"{host.base}/equipment/{item.id}/book", data={
                "csrf_token": pages[i], "start_at": start, "end_at": end,
                "start_fold": "0", "end_fold": "0", "purpose": "Race", "confirm": "1"},
                allow_redirects=False).status_code)

        threads = [threading.Thread(target=book, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(answers) == [302, 409], answers
        with app.app_context():
            assert db.session.scalar(select(func.count(Booking.id))) == 1
            db.session.remove()
            db.engine.dispose()

        # A login limit reached through both hosts holds on both (4 failures a minute).
        guesser = requests.Session()
        codes = [_login(guesser, hosts[i % 2], "nobody@example.org", "wrong").status_code
                 for i in range(4)]
        assert 429 not in codes, codes
        assert _login(guesser, a, "nobody@example.org", "wrong").status_code == 429
        assert _login(guesser, b, "nobody@example.org", "wrong").status_code == 429
    finally:
        for h in hosts:
            h.stop()


def test_two_schedulers_on_two_hosts_run_each_job_once_per_period(app, tmp_path):
    """Two `flask labnet scheduler` processes for a few seconds: every job ran once, the
    other scheduler's first tick found it done within its period."""
    with app.app_context():
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        db.engine.dispose()
    env = {**os.environ, "LABNET_DATABASE_URL": url, "LABNET_SECRET_KEY": "s" * 40,
           "LABNET_BASE_URL": "http://127.0.0.1", "FLASK_APP": "labnet:create_app",
           "LABNET_BACKUP_DIR": str(tmp_path / "backups")}
    flask = Path(sys.executable).with_name("flask")
    logs = [(tmp_path / f"s{i}.log").open("w") for i in range(2)]
    procs = [subprocess.Popen([str(flask), "labnet", "scheduler"], cwd=ROOT, env=env,  # noqa: S603
                              stdout=log, stderr=subprocess.STDOUT) for log in logs]
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with app.app_context():
                rows = list(db.session.scalars(select(JobLock)))
                done = [r for r in rows if r.run_count >= 1 and r.holder is None]
                db.session.remove()
            if len(done) == len(jobs.JOBS):
                break
            time.sleep(1)
        time.sleep(3)  # let the second scheduler's first ticks pass too
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        for log in logs:
            log.close()
    with app.app_context():
        counts = {r.name: r.run_count for r in db.session.scalars(select(JobLock))}
        db.session.remove()
        db.engine.dispose()
    assert counts == dict.fromkeys(jobs.JOBS, 1), counts
    assert len(list((tmp_path / "backups").glob("labnet-*.tar.gz"))) == 1
