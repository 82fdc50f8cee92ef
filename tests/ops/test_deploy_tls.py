"""A fresh machine with the systemd units serves LabNet over TLS with the demo data (issue 16).

What ``deploy/systemd``'s three units and Debian's Caddy do, done here as processes with the
units' own commands and environment: the unit files are read, ``/opt/labnet``,
``/var/lib/labnet`` and ``/run/labnet`` stand for folders under a temporary "machine", and
``/etc/labnet/labnet.env`` is written from ``deploy/labnet.env.example`` (its every setting,
the systemd-only ones included, with this machine's values: a database of its own on the
local PostgreSQL, Redis database 10, an SMTP server on loopback). The install folder holds a
copy of the code (as ``/opt/labnet`` does), so the instance folder the app writes to is the
temporary one, never the working tree's.

1. ``labnet-migrate.service``'s ExecStart, then the demo data (``flask labnet seed-demo
   --if-empty`` with the same environment: production settings load demo data, they only
   withhold the demo API token).
2. ``labnet-web.service``'s ExecStart (gunicorn with ``gunicorn.conf.py``), only the bind
   port and the folders moved; its ``Type=notify`` is checked (gunicorn says READY=1 on
   ``NOTIFY_SOCKET``), and ``labnet-scheduler.service``'s ExecStart.
3. Caddy (Debian's package) with ``deploy/caddy/Caddyfile`` as it is, imported by a test
   header of global options only: the HTTP redirect port and the admin endpoint on free
   loopback ports (not :80 and :2019), listeners on loopback, and the CA's root left out
   of the system trust store (Caddy run as root would install it there).

Then over HTTPS, verified against Caddy's local root certificate only: the home page and
``/labs`` show demo labs, ``/health`` answers, ``/metrics`` is 404 through the proxy (it
answers the bearer token on gunicorn itself), a demo manager logs in (the ``__Host-`` cookie
travels over TLS), a password-reset mail reaches the SMTP server with an ``https://`` link
that works through the proxy; a client trusting only the system's CAs is refused, plain HTTP
on the TLS port gets no page, and Caddy's HTTP port redirects to HTTPS. Every scheduled job
runs once without failing (the daily backup lands in ``LABNET_BACKUP_DIR``). Everything is
stopped at the end and its ports are free again.

PostgreSQL suite (``make test-postgres``): needs LABNET_TEST_DATABASE_URL, Redis at
LABNET_TEST_DEPLOY_REDIS_URL (default database 10 of the local server) and ``caddy`` on the
PATH (.ci/run installs it); without them the test fails, it never skips.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import html
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from psycopg import sql
from sqlalchemy.engine import make_url

from labnet.jobs import JOBS
from labnet.services.seed import DEMO_PASSWORD, MANAGED_DEMO_LABS

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
REDIS_URL = os.environ.get("LABNET_TEST_DEPLOY_REDIS_URL", "redis://127.0.0.1:6379/10")
# The environment systemd gives a service before Environment= and EnvironmentFile=.
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What the deployment's code folder holds (the units run from it: wsgi.py, gunicorn.conf.py
# and migrations/ relative to WorkingDirectory).
INSTALLED = ("labnet", "migrations", "wsgi.py", "gunicorn.conf.py", "pyproject.toml")
T = TypeVar("T")
WAIT = 180  # seconds at most for anything to come up (a bound on failure, not a measure)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    """Nothing is bound to ``port`` (connections of the past in TIME_WAIT aside, as for any
    server that starts there with SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _until(what: str, check: Callable[[], T | None], proc: subprocess.Popen | None = None,
           log: Path | None = None) -> T:
    """Call ``check`` until it returns something other than None (and return that), or
    fail after WAIT seconds, or as soon as ``proc`` has stopped."""
    deadline = time.monotonic() + WAIT
    while True:
        result = check()
        if result is not None:
            return result
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-3000:] if log else ""
            pytest.fail(f"{what}: the process stopped ({proc.returncode})\n{tail}")
        if time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log else ""
            pytest.fail(f"{what}: not within {WAIT} s\n{tail}")
        time.sleep(0.3)


# --- systemd, as far as these units use it -------------------------------------------------


def read_unit(name: str) -> dict[str, list[str]]:
    """The [Service] settings of ``deploy/systemd/<name>`` (a key may repeat)."""
    settings: dict[str, list[str]] = defaultdict(list)
    section = None
    for raw in (DEPLOY / "systemd" / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), f"{name}: continued lines are not read here"
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            key, _, value = line.partition("=")
            settings[key.strip()].append(value.strip())
    return settings


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments, blank lines and
    one pair of surrounding quotes dropped)."""
    values = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not KEY=VALUE: {line!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


class Machine:
    """The folders a fresh machine has for LabNet, here under one temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.install = root / "opt" / "labnet"
        self.state = root / "var" / "lib" / "labnet"
        self.run = root / "run"
        self.env_file = root / "etc" / "labnet" / "labnet.env"
        self.logs = root / "logs"
        for folder in (self.install, self.state, self.run, self.env_file.parent, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        for name in INSTALLED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, self.install / name,
                                ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, self.install / name)
        (self.install / "instance").mkdir()
        # The venv the README's install makes in /opt/labnet: this test run's own.
        (self.install / ".venv").symlink_to(Path(sys.executable).parent.parent)

    def local(self, value: str) -> str:
        """A unit's path on this machine."""
        for path, here in (("/opt/labnet", self.install), ("/var/lib/labnet", self.state),
                           ("/run/", f"{self.run}/"),
                           ("/etc/labnet/labnet.env", self.env_file)):
            value = value.replace(path, str(here))
        return value

    def service(self, unit: str, **overrides: str) -> tuple[list[str], dict[str, str], Path]:
        """The command, environment and working folder systemd would give ``unit``'s
        ExecStart; ``overrides`` (ports, sockets) win over the unit's settings."""
        settings = read_unit(unit)
        [exec_start] = settings["ExecStart"]
        env = {"PATH": SYSTEMD_PATH, "LANG": "C.UTF-8", "HOME": str(self.state)}
        for line in settings.get("Environment", []):
            for assignment in shlex.split(line):
                key, _, value = assignment.partition("=")
                env[key] = self.local(value)
        for name in settings.get("EnvironmentFile", []):
            env.update(read_env_file(Path(self.local(name))))  # the file wins, as in systemd
        for name in settings.get("RuntimeDirectory", []):
            (self.run / name).mkdir(parents=True, exist_ok=True)
        env.update(overrides)
        [workdir] = settings["WorkingDirectory"]
        return shlex.split(self.local(exec_start)), env, Path(self.local(workdir))


class Processes:
    """Started processes (each in its own process group), all stopped by ``stop_all``."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path
              ) -> subprocess.Popen:
        with self.log(name).open("w") as out:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out,  # noqa: S603
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.running[name] = proc
        return proc

    def stop_all(self) -> None:
        for name, proc in reversed(list(self.running.items())):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
            # Whatever the group left behind (a gunicorn worker) goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            del self.running[name]


# --- the machine's other parts ------------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[_Inbox, int]]:
    inbox, port = _Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def deploy_database() -> Iterator[str]:
    """A database of its own on the PostgreSQL server of LABNET_TEST_DATABASE_URL, empty as
    on a fresh machine, dropped afterwards."""
    base = os.environ.get("LABNET_TEST_DATABASE_URL")
    if not base:
        pytest.fail("the deployment test needs LABNET_TEST_DATABASE_URL (make test-postgres)")
    url = make_url(base)
    name = f"{url.database}_deploy"
    admin = url.set(drivername="postgresql", database="postgres")
    conninfo = admin.render_as_string(hide_password=False)

    def drop() -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))

    drop()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.set(drivername="postgresql", database=name).render_as_string(
            hide_password=False)
    finally:
        drop()


@pytest.fixture
def redis_db10() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        client.close()
        pytest.fail(f"the deployment test needs Redis at {REDIS_URL}")
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def machine() -> Iterator[Machine]:
    # A short path: the notify socket's name must fit in 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="labnet-tls-"))
    try:
        yield Machine(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def processes(machine: Machine) -> Iterator[Processes]:
    started = Processes(machine.logs)
    try:
        yield started
    finally:
        started.stop_all()


def write_env_file(machine: Machine, values: dict[str, str]) -> dict[str, str]:
    """``/etc/labnet/labnet.env`` from the example: every setting it names (the systemd-only
    ones, commented out there, too), with this machine's values where ``values`` has one;
    ``None`` leaves a setting out. Compose-only settings stay out."""
    example = DEPLOY / "labnet.env.example"
    lines = example.read_text().splitlines()
    systemd_only = lines.index(next(x for x in lines if x.startswith("# systemd only")))
    settings: dict[str, str | None] = {}
    for i, raw in enumerate(lines):
        line = raw.strip()
        if i > systemd_only and line.startswith("# LABNET_"):
            line = line[2:]  # the systemd-only settings
        if not line.startswith("LABNET_") or line.startswith("LABNET_SEED_DEMO"):
            continue
        key, _, value = line.partition("=")
        settings[key] = value
    unknown = set(values) - set(settings)
    assert not unknown, f"labnet.env.example does not name {sorted(unknown)}"
    settings.update(values)
    machine.env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()
                                        if v is not None))
    machine.env_file.chmod(0o600)
    return read_env_file(machine.env_file)


def caddy_config(machine: Machine, http_port: int, admin_port: int) -> Path:
    """Global options for a test machine, then the deployment's Caddyfile as it is."""
    path = machine.root / "etc" / "caddy" / "Caddyfile"
    path.parent.mkdir(parents=True)
    path.write_text("{\n"
                    f"\tadmin 127.0.0.1:{admin_port}\n"
                    f"\thttp_port {http_port}\n"
                    "\tdefault_bind 127.0.0.1\n"
                    "\tskip_install_trust\n"
                    "}\n"
                    f"import {DEPLOY / 'caddy' / 'Caddyfile'}\n")
    return path


def _notify_socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(WAIT)
    return sock


def _client(verify: str | bool = True) -> requests.Session:
    """A client that trusts ``verify`` (a CA file) only: the environment's CA bundle and
    proxies (REQUESTS_CA_BUNDLE would win over a session's ``verify``) are not read."""
    client = requests.Session()
    client.trust_env = False
    client.verify = verify
    return client


def _answers(client: requests.Session, url: str) -> requests.Response | None:
    try:
        return client.get(url, timeout=10, allow_redirects=False)
    except (requests.ConnectionError, requests.exceptions.SSLError):
        return None


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _demo_lab_names(database_url: str) -> dict[str, str]:
    with psycopg.connect(database_url) as conn:
        return dict(conn.execute("SELECT slug, name FROM lab").fetchall())


def _jobs_run(database_url: str) -> dict[str, tuple[int, int]] | None:
    """Each job's (runs, failed runs) once every job has run and let its lease go."""
    with psycopg.connect(database_url) as conn:
        rows = {name: (runs, failures, holder) for name, runs, failures, holder in conn.execute(
            "SELECT name, run_count, failure_count, holder FROM job_lock").fetchall()}
    if set(rows) != set(JOBS) or any(runs < 1 or holder for runs, _, holder in rows.values()):
        return None
    return {name: (runs, failures) for name, (runs, failures, _) in rows.items()}


def _run_unit_command(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,  # noqa: S603
                          timeout=1800, check=False)
    assert done.returncode == 0, f"{shlex.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_systemd_units_serve_labnet_over_tls_with_the_demo_data(
        machine, processes, deploy_database, redis_db10, smtp_inbox):
    caddy = shutil.which("caddy")
    assert caddy, "caddy is not installed (apt-get install caddy; .ci/run does)"
    inbox, smtp_port = smtp_inbox
    # The working tree's instance folder is not the deployment's: nothing is written there.
    tree_instance = sorted((ROOT / "instance").rglob("*"))
    web_port, tls_port, http_port, admin_port = (_free_port() for _ in range(4))
    origin = f"https://localhost:{tls_port}"
    metrics_token = "deploy-test-metrics-" + "t" * 20
    env_file = write_env_file(machine, {
        "LABNET_HOST": f"localhost:{tls_port}",
        "LABNET_BASE_URL": origin,
        "LABNET_SECRET_KEY": "deploy-test-" + "k" * 52,
        "LABNET_MAIL_SERVER": "127.0.0.1",
        "LABNET_MAIL_PORT": str(smtp_port),
        # aiosmtpd on loopback: no STARTTLS, no login.
        "LABNET_MAIL_USE_TLS": "false",
        "LABNET_MAIL_USERNAME": None,
        "LABNET_MAIL_PASSWORD": None,
        "LABNET_METRICS_TOKEN": metrics_token,
        "LABNET_DATABASE_URL": deploy_database,
        "LABNET_REDIS_URL": redis_db10,
    })
    # Production settings: the units set them, the env file does not take them back.
    assert "LABNET_ENV_NAME" not in env_file

    # 1. labnet-migrate.service, then the demo data with the same environment.
    argv, env, cwd = machine.service("labnet-migrate.service")
    assert env["LABNET_ENV_NAME"] == "production"
    _run_unit_command(argv, env, cwd)
    assert argv[1:] == ["db", "upgrade"], argv
    seeded = _run_unit_command([argv[0], "labnet", "seed-demo", "--if-empty"], env, cwd)
    assert "Demo data:" in seeded and "No demo API token" in seeded, seeded
    labs = _demo_lab_names(deploy_database)
    assert len(labs) >= 50 and set(MANAGED_DEMO_LABS) <= set(labs)
    # The code folder is the install's: the demo evidence went to its instance folder.
    assert any((machine.install / "instance").rglob("*.*"))
    assert sorted((ROOT / "instance").rglob("*")) == tree_instance

    # 2. labnet-web.service (Type=notify: gunicorn tells systemd it is up) and the scheduler.
    notify_path = machine.run / "notify.sock"
    notify = _notify_socket(notify_path)
    try:
        argv, env, cwd = machine.service(
            "labnet-web.service", GUNICORN_BIND=f"127.0.0.1:{web_port}",
            NOTIFY_SOCKET=str(notify_path))
        assert read_unit("labnet-web.service")["Type"] == ["notify"]
        web = processes.start("web", argv, env, cwd)
        ready = notify.recv(4096).decode()
    finally:
        notify.close()
    assert "READY=1" in ready.split("\n"), ready
    gunicorn = f"http://127.0.0.1:{web_port}"
    direct = _client()
    _until("gunicorn answers /health", lambda: _answers(direct, gunicorn + "/health"), web,
           processes.log("web"))
    argv, env, cwd = machine.service("labnet-scheduler.service")
    scheduler = processes.start("scheduler", argv, env, cwd)

    # Gunicorn itself: production refuses other hosts; Caddy's health check asks for
    # /health with the upstream's address as Host, which must be answered.
    assert direct.get(gunicorn + "/health", headers={"Host": "evil.example"},
                      timeout=10).status_code == 400
    health = direct.get(gunicorn + "/health", timeout=10)
    assert health.status_code == 200, health.text
    assert health.json() == {"status": "ok"}
    metrics = direct.get(gunicorn + "/metrics", headers={
        "Host": f"localhost:{tls_port}", "Authorization": f"Bearer {metrics_token}"},
        timeout=10)
    assert metrics.status_code == 200 and "labnet_http_request_duration_seconds" in metrics.text

    # 3. Caddy with the deployment's Caddyfile.
    caddy_env = {"PATH": SYSTEMD_PATH, "HOME": str(machine.root),
                 "XDG_DATA_HOME": str(machine.root / "caddy-data"),
                 "XDG_CONFIG_HOME": str(machine.root / "caddy-config"),
                 "LABNET_HOST": env_file["LABNET_HOST"],
                 "LABNET_UPSTREAM": f"127.0.0.1:{web_port}"}
    config = caddy_config(machine, http_port, admin_port)
    proxy = processes.start("caddy", [caddy, "run", "--environ", "--config", str(config),
                                      "--adapter", "caddyfile"], caddy_env, machine.root)
    root_crt = machine.root / "caddy-data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    _until("Caddy's local CA", lambda: root_crt.exists() or None, proxy, processes.log("caddy"))
    tls = _client(str(root_crt))
    first = _until("Caddy answers over HTTPS", lambda: _answers(tls, origin + "/health"),
                   proxy, processes.log("caddy"))
    assert first.status_code == 200, first.text
    assert first.json() == {"status": "ok"}

    home = tls.get(origin + "/", timeout=30)
    assert home.status_code == 200
    assert any(html.escape(name) in home.text for name in labs.values())
    catalogue = tls.get(origin + "/labs", timeout=30)
    assert catalogue.status_code == 200
    shown = [name for name in labs.values() if html.escape(name) in catalogue.text]
    assert shown, catalogue.text[:2000]
    # /metrics stays inside: 404 through the proxy, with the scraper's token too.
    for headers in ({}, {"Authorization": f"Bearer {metrics_token}"}):
        hidden = tls.get(origin + "/metrics", headers=headers, timeout=30)
        assert hidden.status_code == 404
        assert "labnet_" not in hidden.text

    # A demo manager logs in over TLS: the Secure __Host- session cookie works here. (Over
    # HTTPS Flask-WTF wants the same-origin Referer a browser sends: gunicorn takes the
    # scheme from Caddy's X-Forwarded-Proto.)
    login = tls.post(origin + "/login", data={
        "csrf_token": _csrf(tls.get(origin + "/login", timeout=30).text),
        "email": "manager@labnet.example", "password": DEMO_PASSWORD},
        headers={"Referer": origin + "/login"}, allow_redirects=False, timeout=30)
    assert login.status_code == 302, login.text[:2000]
    cookie = next(c for c in tls.cookies if c.name == "__Host-session")
    assert cookie.secure
    manage = tls.get(origin + "/manage", allow_redirects=False, timeout=30)
    assert manage.status_code == 200
    assert html.escape(labs[MANAGED_DEMO_LABS[0]]) in manage.text

    # E-mail: a reset link to the SMTP server on loopback, with the https:// origin, that
    # works through the proxy.
    anonymous = _client(str(root_crt))
    asked = anonymous.post(origin + "/account/reset", data={
        "csrf_token": _csrf(anonymous.get(origin + "/account/reset", timeout=30).text),
        "email": "sme@labnet.example"}, headers={"Referer": origin + "/account/reset"},
        allow_redirects=False, timeout=30)
    assert asked.status_code == 302, asked.text[:2000]
    [message] = _until("the reset mail", lambda: [
        m for m in inbox.messages if m["To"] and "sme@labnet.example" in m["To"]] or None)
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(re.escape(origin) + r"/account/reset/\S+", body)
    assert link, body
    assert anonymous.get(link.group(0), timeout=30).status_code == 200

    # Certificate checks are real: the system's CAs do not know Caddy's local CA …
    system_cas = ssl.create_default_context()
    with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as raw, \
            pytest.raises(ssl.SSLCertVerificationError):
        system_cas.wrap_socket(raw, server_hostname="localhost")
    # … plain HTTP on the TLS port gets no page, and the HTTP port redirects to HTTPS.
    plain = direct.get(f"http://localhost:{tls_port}/labs", timeout=10)
    assert plain.status_code == 400 and "<html" not in plain.text.lower()
    redirect = direct.get(f"http://localhost:{http_port}/labs", allow_redirects=False,
                          timeout=10)
    assert redirect.status_code in (301, 308)
    assert redirect.headers["Location"] == origin + "/labs"

    # The scheduler ran every job once, none failed (the backup among them).
    runs = _until("every job's first run", lambda: _jobs_run(deploy_database), scheduler,
                  processes.log("scheduler"))
    failed = {name: counts for name, counts in runs.items() if counts[1]}
    assert not failed, (failed, processes.log("scheduler").read_text()[-3000:])
    assert list((machine.state / "backups").glob("labnet-*.tar.gz"))
    assert sorted((ROOT / "instance").rglob("*")) == tree_instance

    # Still serving through the proxy after Caddy's first active health checks.
    again = tls.get(origin + "/health", timeout=30)
    assert again.status_code == 200, again.text

    # Stopped: nothing listens on the ports any more.
    assert web.poll() is None and scheduler.poll() is None and proxy.poll() is None
    processes.stop_all()
    busy = [port for port in (web_port, tls_port, http_port, admin_port)
            if not _port_free(port)]
    assert not busy
