"""What the runner measures: request times, SQL statements per request, allocation peaks,
query plans, and whether every relationship still raises on lazy loading."""

from __future__ import annotations

import logging
import math
import os
import re
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session

# Loader strategies that issue one query per parent object when an attribute is touched:
# a relationship with one of these turns a forgotten eager load into a silent N+1.
SILENT_LAZY = {"select", True, "dynamic", "immediate"}


class RouteFailed(RuntimeError):
    """A page did not answer 200 (or raised, e.g. on a lazy load)."""


class LazyLoadDuringBenchmark(RuntimeError):
    """A relationship was lazy-loaded with SQL while a page was being served."""


# --- lazy loading --------------------------------------------------------------------------

def relationships_not_raising(base: Any) -> list[str]:
    """``Model.attr (lazy=...)`` for every mapped relationship that would lazy-load silently."""
    found = []
    for mapper in base.registry.mappers:
        for rel in mapper.relationships:
            if rel.lazy in SILENT_LAZY:
                found.append(f"{mapper.class_.__name__}.{rel.key} (lazy={rel.lazy!r})")
    return sorted(found)


def _refuse_lazy_load(state: ORMExecuteState) -> None:
    # Set only for a per-object lazy load (not for selectinload/subqueryload, which load
    # the whole collection once), and only when SQL is about to run.
    if state.is_select and state.lazy_loaded_from is not None:
        path = state.loader_strategy_path
        what = path[-1] if path is not None and len(path) else "a relationship"
        raise LazyLoadDuringBenchmark(
            f"lazy load of {what} from {state.lazy_loaded_from.class_.__name__}: "
            "load it eagerly in the view's query (an N+1 query otherwise)"
        )


def install_lazy_load_guard() -> None:
    """Make every SQL-emitting lazy load raise, whatever the relationship declares: the
    models' ``lazy="raise_on_sql"`` already does so; this also covers one that forgot it."""
    if not event.contains(Session, "do_orm_execute", _refuse_lazy_load):
        event.listen(Session, "do_orm_execute", _refuse_lazy_load)


def remove_lazy_load_guard() -> None:
    if event.contains(Session, "do_orm_execute", _refuse_lazy_load):
        event.remove(Session, "do_orm_execute", _refuse_lazy_load)


# --- SQL statements ------------------------------------------------------------------------

@dataclass
class Statement:
    sql: str
    params: Any
    seconds: float = 0.0
    many: bool = False


@dataclass
class QueryRecorder:
    """Records every statement the engine sends while active (``before_cursor_execute``)."""

    engine: Engine
    statements: list[Statement] = field(default_factory=list)
    _started: float = 0.0

    def _before(self, _conn, _cursor, statement, parameters, _context, executemany) -> None:
        self.statements.append(Statement(statement, parameters, many=executemany))
        self._started = time.perf_counter()

    def _after(self, *_args: Any) -> None:
        if self.statements:
            self.statements[-1].seconds = time.perf_counter() - self._started

    @contextmanager
    def recording(self) -> Iterator[list[Statement]]:
        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        try:
            yield self.statements
        finally:
            event.remove(self.engine, "before_cursor_execute", self._before)
            event.remove(self.engine, "after_cursor_execute", self._after)


# --- requests ------------------------------------------------------------------------------

def get_ok(client: FlaskClient, path: str) -> int:
    """GET ``path``; raise :class:`RouteFailed` unless it answers 200. Returns the body size."""
    try:
        response = client.get(path)
    except Exception as exc:  # TESTING=True: the view's exception comes through here
        raise RouteFailed(f"GET {path} raised {type(exc).__name__}: {exc}") from exc
    body = response.get_data()
    response.close()
    if response.status_code != 200:
        raise RouteFailed(_failure(path, response.status_code))
    return len(body)


class _LoggedErrors(logging.Handler):
    """The app's catch-all error handler logs an exception and answers 500; keep the last
    one so the report can say why a page failed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.last = f"{type(exc).__name__}: {exc}"


logged_errors = _LoggedErrors()
logging.getLogger("labnet").addHandler(logged_errors)


def _failure(path: str, status: int) -> str:
    reason = f" ({logged_errors.last})" if logged_errors.last else ""
    logged_errors.last = None
    return f"GET {path} answered {status}{reason}"


def time_routes(client: FlaskClient, routes: dict[str, str], *, repeat: int, warmup: int,
                progress: Callable[[str, int, int], None], budget: float | None = None,
                rounds: int = 10) -> dict[str, list[float]]:
    """Seconds per request for each route: ``warmup`` unmeasured requests, then ``repeat``
    measured ones (fewer, but at least 10, for a route whose warm-up says it would take
    more than ``budget`` seconds), taken in ``rounds`` rounds that each run a block of
    consecutive requests per route. Consecutive requests measure a route as RELIABILITY
    §6.2 did (interleaving single requests would leave /ping running with caches full of
    the previous page and inflate the baseline of every ratio); the rounds spread a slow
    phase of a shared machine over all routes instead of one."""
    wanted: dict[str, int] = {}
    for name, path in routes.items():
        started = time.perf_counter()
        for _ in range(warmup):
            get_ok(client, path)
        each = (time.perf_counter() - started) / warmup if warmup else 0.0
        n = repeat
        if budget and each > 0 and each * repeat > budget:
            n = max(min(repeat, 10), int(budget / each))
        wanted[name] = n
    rounds = max(1, min(rounds, min(wanted.values())))

    def blocks(n: int) -> list[int]:
        return [n // rounds + (1 if r < n % rounds else 0) for r in range(rounds)]

    plan = {name: blocks(n) for name, n in wanted.items()}
    samples: dict[str, list[float]] = {name: [] for name in routes}
    clock = time.perf_counter
    total = sum(wanted.values())
    done = 0
    for r in range(rounds):
        for name, path in routes.items():
            times = samples[name]
            get_ok(client, path)  # one unmeasured request to bring this route's data back
            for _ in range(plan[name][r]):
                started = clock()
                try:
                    response = client.get(path)
                except Exception as exc:
                    raise RouteFailed(
                        f"GET {path} raised {type(exc).__name__}: {exc}") from exc
                response.get_data()
                elapsed = clock() - started
                response.close()
                if response.status_code != 200:
                    raise RouteFailed(_failure(path, response.status_code))
                times.append(elapsed)
            done += plan[name][r]
            progress("timing requests", done, total)
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values)


def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def allocation_peak(client: FlaskClient, path: str) -> int:
    """Peak bytes allocated (and alive at once) by Python during one request."""
    tracemalloc.start()
    try:
        get_ok(client, path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def rss_bytes() -> int | None:
    """Current resident set size (Linux), or None."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int | None:
    """Peak resident set size of this process so far."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


# --- query plans ---------------------------------------------------------------------------

_SELECT_LIST = re.compile(r"SELECT ((?:(?!SELECT\b|FROM\b).)+?) FROM\b", re.S)


_LONG_IN_LIST = re.compile(r"IN \(((?:[^()]{0,12}, ){8,}[^()]*)\)")


def shorten_sql(sql: str, width: int = 70, limit: int = 1500) -> str:
    """One line, long column lists and literal ``IN`` lists elided: enough to tell the
    statements apart and read their shape."""
    flat = " ".join(sql.split())
    flat = _LONG_IN_LIST.sub(
        lambda m: f"IN ({', '.join(m.group(1).split(', ')[:3])}, … {m.group(1).count(',') + 1} "
                  "values)", flat)

    def elide(m: re.Match[str]) -> str:
        columns = m.group(1)
        if len(columns) <= width:
            return m.group(0)
        return f"SELECT {columns.split(',')[0].strip()}, … FROM"

    short = _SELECT_LIST.sub(elide, flat)
    return short if len(short) <= limit else short[:limit] + " …"


def explain(engine: Engine, statements: list[Statement], runs: int = 3
            ) -> list[dict[str, Any]]:
    """The plan of each SELECT a request issued, as the engine would run it now, and the
    time to run it again to its last row (median of ``runs``).

    The time of ``cursor.execute`` alone is no measure: SQLite computes rows as they are
    fetched, so a statement that "executes" in 16 ms may need 500 ms to deliver its rows.
    """
    dialect = engine.dialect.name
    plans = []
    with engine.connect() as conn:
        for st in statements:
            if st.many or not st.sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            if dialect == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + st.sql, st.params).all()
                lines = _sqlite_tree(rows)
            elif dialect == "postgresql":
                rows = conn.exec_driver_sql("EXPLAIN " + st.sql, st.params).all()
                lines = [_short_plan_line(r[0]) for r in rows]
            else:
                lines = []
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                result = conn.exec_driver_sql(st.sql, st.params).all()
                times.append(time.perf_counter() - started)
            plans.append({"sql": shorten_sql(st.sql),
                          "ms": round(statistics.median(times) * 1000, 3),
                          "rows": len(result), "plan": lines})
        conn.rollback()
    return plans


_LONG_ARRAY = re.compile(r"'\{((?:[^{}']*?,){8,}[^{}']*)\}'")


def _short_plan_line(line: str, limit: int = 600) -> str:
    # PostgreSQL prints a literal IN list as an array constant: keep its first values.
    line = _LONG_ARRAY.sub(
        lambda m: "'{" + ",".join(m.group(1).split(",")[:3]) + f",… {m.group(1).count(',') + 1}"
                  " values}'", line)
    return line if len(line) <= limit else line[:limit] + " …"


def _sqlite_tree(rows: list[Any]) -> list[str]:
    depth: dict[int, int] = {0: -1}
    lines = []
    for node_id, parent, _unused, detail in rows:
        depth[node_id] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node_id] + detail)
    return lines


_SQLITE_TABLE_SCAN = re.compile(r"^\s*SCAN (\w+)(?: AS \w+)?\s*$")
_SQLITE_INDEX_SCAN = re.compile(r"^\s*SCAN (\w+)(?: AS \w+)? USING (?:COVERING )?INDEX (\w+)")
_PG_SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


def full_scans(plans: list[dict[str, Any]]) -> dict[str, Any]:
    """Tables read whole (``SCAN t`` / ``Seq Scan on t``) and indexes walked whole
    (``SCAN t USING INDEX i``: cheap with a LIMIT that fills early, a full pass otherwise)."""
    tables: set[str] = set()
    indexes: set[str] = set()
    for plan in plans:
        for line in plan["plan"]:
            if m := _SQLITE_TABLE_SCAN.match(line):
                if m.group(1).upper() not in {"CONSTANT", "SUBQUERY"}:
                    tables.add(m.group(1))
            elif m := _SQLITE_INDEX_SCAN.match(line):
                indexes.add(f"{m.group(1)}.{m.group(2)}")
            elif m := _PG_SEQ_SCAN.search(line):
                tables.add(m.group(1))
    return {"tables": sorted(tables), "indexes": sorted(indexes)}
