"""The loop every page benchmark shares: build and measure each scale in a temporary
folder, stop at the first failure, check that each route issues the same number of SQL
statements at every scale (no N+1), and write the JSON document to stdout and ``--output``.

Exit status: 0; 1 when a route's query count differs between scales; 2 when a request or
the set-up fails; 130 when interrupted. Time is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from benchmarks import database, measure
from benchmarks.progress import Progress
from benchmarks.run import environment, route_lines

RunScale = Callable[[argparse.Namespace, int, int, Path, Progress], dict[str, Any]]


def run_scales(args: argparse.Namespace, stdout: TextIO, *, title: str, prefix: str,
               route_order: Sequence[str], run_scale: RunScale, width: int = 14) -> int:
    """Measure ``args.scales`` (pairs of sizes) with ``run_scale`` and report."""
    progress = Progress(quiet=args.quiet)
    document: dict[str, Any] = {
        "benchmark": title,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        "settings": {"repeat": args.repeat, "warmup": args.warmup, "seed": args.seed,
                     "client": "Flask test client (in-process)",
                     "clock": database.SEED_NOW.isoformat(),
                     "ratio": "median of the route / median of /ping in the same run"},
        "scales": [],
    }
    errors: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    started = time.perf_counter()
    try:
        for first, second in args.scales:
            try:
                scale = run_scale(args, first, second, workdir, progress)
            except measure.RouteFailed as exc:
                errors.append(f"{first} labs: {exc}")
                progress.warn(f"FAILED: {exc}")
                break
            except Exception as exc:
                traceback.print_exc()
                errors.append(f"{first} labs: {type(exc).__name__}: {exc}")
                break
            document["scales"].append(scale)
            for line in route_lines(scale["routes"], width):
                progress.note("  " + line)
    except KeyboardInterrupt:
        progress.note("interrupted")
        return 130
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return finish(document, route_order, errors, started, args.output, stdout, progress)


def finish(document: dict[str, Any], route_order: Sequence[str], errors: list[str],
           started: float, output: Path, stdout: TextIO, progress: Progress) -> int:
    """Check that each route's query count is the same at every scale, write the document
    to ``output`` and stdout, warn of differences and errors; the exit status (0 fine, 1 a
    count differs between scales, 2 an error)."""
    scales = document["scales"]
    per_scale = {name: [s["routes"][name]["queries"] for s in scales] for name in route_order}
    differing = [n for n, c in per_scale.items() if len(set(c)) > 1]
    document["checks"] = {"queries_per_scale": per_scale,
                          "all_queries_equal": not differing if len(scales) > 1 else None,
                          "errors": errors}
    document["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    document["total_seconds"] = round(time.perf_counter() - started, 1)
    status = 2 if errors else 1 if differing else 0
    document["ok"] = status == 0
    out = json.dumps(document, indent=2, ensure_ascii=False)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(out + "\n", encoding="utf-8")
    stdout.write(out + "\n")
    stdout.flush()
    for name in differing:
        progress.warn(f"N+1? {name}: queries per scale {per_scale[name]}")
    for err in errors:
        progress.warn(f"error: {err}")
    progress.note(f"wrote {output}")
    return status
