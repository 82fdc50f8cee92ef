"""Lighthouse (npm ``lighthouse``, pinned in the Makefile) on `/`, `/labs`, `/map` and a lab
page of the demo platform: the accessibility score and the mobile performance score with
its main metrics, per page (issue 18).

    make lighthouse          # installs Lighthouse under .venv/lighthouse, then runs this
    .venv/bin/python -m benchmarks.lighthouse [--lighthouse PATH] [--output FILE] [--lang de]

Lighthouse's defaults: a phone (Moto G Power class screen) with simulated slow 4G and a
4× slower CPU, so the performance figures are the throttled ones a phone on a poor
connection would see, computed from this machine's trace — a busy machine lowers them.
It drives Debian's Chromium (headless). Each page's full report goes beside the summary;
progress on stderr; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.demo_server import demo_server, first_lab_path

CHROMIUM = "/usr/bin/chromium"
DEFAULT_LIGHTHOUSE = Path(".venv/lighthouse/node_modules/.bin/lighthouse")
PAGES = ("/", "/labs", "/map", "LAB")
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-background-networking "
                "--disable-component-update --disable-sync --no-first-run")
METRICS = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
           "cumulative-layout-shift", "speed-index")


def _nodes(found: dict[str, Any]) -> list[str]:
    """The elements a failed audit names (their CSS selectors; five at most)."""
    items = (found.get("details") or {}).get("items") or []
    return [str((item.get("node") or {}).get("selector", "")) for item in items][:5]


def audit(lighthouse: Path, url: str, report: Path, lang: str) -> dict[str, Any]:
    env = dict(os.environ, CHROME_PATH=CHROMIUM)
    headers = json.dumps({"Accept-Language": lang})
    subprocess.run(  # noqa: S603 (our own pinned tool, arguments built here)
        [str(lighthouse), url, "--quiet", "--output=json", f"--output-path={report}",
         "--only-categories=accessibility,performance", f"--chrome-flags={CHROME_FLAGS}",
         f"--extra-headers={headers}", "--max-wait-for-load=60000"],
        check=True, env=env, timeout=300)
    result = json.loads(report.read_text())
    categories = result["categories"]
    refs = [ref["id"] for ref in categories["accessibility"].get("auditRefs", [])]
    failed = {ref: _nodes(result["audits"][ref]) for ref in sorted(refs)
              if result["audits"].get(ref, {}).get("score") == 0}
    return {
        "accessibility": round(100 * (categories["accessibility"]["score"] or 0)),
        "performance_mobile": round(100 * (categories["performance"]["score"] or 0)),
        "metrics": {name: result["audits"][name].get("displayValue", "")
                    for name in METRICS if name in result["audits"]},
        "accessibility_failures": failed,
        "lighthouse": result.get("lighthouseVersion"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lighthouse", type=Path, default=DEFAULT_LIGHTHOUSE)
    parser.add_argument("--output", type=Path,
                        default=Path("benchmarks/results/lighthouse.json"))
    parser.add_argument("--lang", default="en", help="the browser's Accept-Language")
    args = parser.parse_args(argv)
    if not args.lighthouse.exists():
        print(f"{args.lighthouse} is missing: run `make lighthouse`", file=sys.stderr)
        return 2
    pages: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder, demo_server() as (base_url, app):
        paths = [(first_lab_path(app) if p == "LAB" else p) for p in PAGES]
        for number, path in enumerate(paths, start=1):
            print(f"[{number}/{len(paths)}] lighthouse {path}", file=sys.stderr, flush=True)
            report = Path(folder) / f"report-{number}.json"
            pages[path] = audit(args.lighthouse, base_url + path, report, args.lang)
            print(f"      accessibility {pages[path]['accessibility']}, "
                  f"mobile performance {pages[path]['performance_mobile']}",
                  file=sys.stderr, flush=True)
    document = {"load_average": os.getloadavg(), "lang": args.lang, "pages": pages}
    text = json.dumps(document, indent=2)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
