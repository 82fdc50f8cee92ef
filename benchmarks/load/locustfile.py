"""Load test of a running LabNet (``make load``): loopback only, bounded in time.

A realistic mix against the demo accounts (``flask labnet seed-demo``; with the synthetic
10,000-lab catalogue the anonymous part grows heavier): anonymous browsing and search, map
loads, logged-in booking requests, a manager on the booking queue, a coordinator on the
dashboard. Refusals the booking engine gives (slot taken 409, a rule 422) count as answers,
not failures: only 5xx, time-outs and unexpected statuses fail.

``LOAD_RUN_ID`` tags the bookings' purpose ("Load test <id>") so they can be counted in
the database afterwards; with ``LOAD_LOG`` every answer is written to that CSV file (start
time, page, status, Retry-After, Location, whether a traceback showed) for the fault run.
"""

from __future__ import annotations

import csv
import os
import random
import re
from datetime import UTC, datetime, timedelta

from locust import HttpUser, between, events, task

RUN_ID = os.environ.get("LOAD_RUN_ID", "")
PURPOSE = f"Load test {RUN_ID}".strip()
PASSWORD = "labnet-demo"  # noqa: S105 - the documented demo password (demo accounts only)
WORDS = ("laser", "microscope", "additive manufacturing", "photonics", "battery", "sensor",
         "3d printing", "spectroscopy", "cleanroom", "robotics")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
EQUIPMENT = re.compile(r'href="/equipment/(\d+)"')


if os.environ.get("LOAD_LOG"):
    _log_file = open(os.environ["LOAD_LOG"], "a", newline="")  # noqa: SIM115 - whole run
    _log = csv.writer(_log_file)
    if _log_file.tell() == 0:
        _log.writerow(["t", "name", "status", "retry_after", "location", "traceback", "ms"])

    @events.request.add_listener
    def _record(name, response, exception, start_time, response_time, **_kw):
        status = getattr(response, "status_code", 0) or 0
        headers = getattr(response, "headers", None) or {}
        body = response.text if status >= 500 and response is not None else ""
        _log.writerow([f"{start_time:.3f}", name, status, headers.get("Retry-After", ""),
                       headers.get("Location", ""), int("Traceback" in body),
                       round(response_time or 0)])
        _log_file.flush()


def _csrf(html: str) -> str:
    match = CSRF.search(html)
    return match.group(1) if match else ""


class Visitor(HttpUser):
    """Anonymous browsing: home, catalogue, search, lab pages, the map and its data."""

    weight = 6
    wait_time = between(1, 4)

    @task(3)
    def search(self):
        self.client.get("/labs", params={"q": random.choice(WORDS)}, name="/labs?q=")

    @task(2)
    def browse(self):
        self.client.get("/labs", params={"page": random.randint(1, 5)}, name="/labs?page=")

    @task(1)
    def home(self):
        self.client.get("/")

    @task(2)
    def map(self):
        self.client.get("/map")
        self.client.get("/map/labs.geojson", headers={"Accept-Encoding": "gzip"})

    @task(1)
    def map_search(self):
        self.client.get("/map/labs.geojson", params={"q": random.choice(WORDS)},
                        name="/map/labs.geojson?q=")

    @task(2)
    def lab_page(self):
        self.client.get("/labs/fraunhofer-ilt", name="/labs/<slug>")


class _SignedIn(HttpUser):
    abstract = True
    email = ""
    signed_in = False

    def on_start(self):
        self.sign_in()

    def sign_in(self) -> bool:
        """Sign in (again: a login that met a restart answered 503 and must be repeated)."""
        page = self.client.get("/login").text
        response = self.client.post("/login", data={"csrf_token": _csrf(page),
                                                    "email": self.email, "password": PASSWORD},
                                    name="/login", allow_redirects=False)
        location = response.headers.get("Location", "")
        self.signed_in = response.status_code == 302 and "/login" not in location
        return self.signed_in


class Booker(_SignedIn):
    """A company member requesting equipment at random future hours."""

    weight = 2
    wait_time = between(2, 6)
    email = "sme@labnet.example"

    def on_start(self):
        self.equipment: list[str] = []
        super().on_start()

    @task
    def request_booking(self):
        if not self.signed_in and not self.sign_in():
            return
        if not self.equipment:
            page = self.client.get("/labs/fraunhofer-ilt", name="/labs/<slug>").text
            self.equipment = sorted(set(EQUIPMENT.findall(page)))
            if not self.equipment:
                return
        item = random.choice(self.equipment)
        url = f"/equipment/{item}/book"
        page = self.client.get(url, name="/equipment/<id>/book").text
        day = datetime.now(UTC) + timedelta(days=random.randint(3, 40))
        start = day.replace(hour=random.randint(8, 14), minute=0)
        data = {"csrf_token": _csrf(page), "start_at": start.strftime("%Y-%m-%dT%H:%M"),
                "end_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                "start_fold": "0", "end_fold": "0", "purpose": PURPOSE, "confirm": "1"}
        with self.client.post(url, data=data, name="/equipment/<id>/book POST",
                              allow_redirects=False, catch_response=True) as response:
            if response.status_code in (302, 409, 422):
                response.success()


class Manager(_SignedIn):
    """A lab manager on the booking queue and the request inbox."""

    weight = 1
    wait_time = between(3, 8)
    email = "manager@labnet.example"

    @task
    def queue(self):
        if not self.signed_in and not self.sign_in():
            return
        self.client.get("/manage/bookings")
        self.client.get("/requests/inbox")


class Coordinator(_SignedIn):
    """A network coordinator on the dashboard."""

    weight = 1
    wait_time = between(5, 10)
    email = "coordinator@labnet.example"

    @task
    def dashboard(self):
        if not self.signed_in and not self.sign_in():
            return
        self.client.get("/dashboard")
