"""Page weight: bytes on the wire for `/`, `/labs`, `/map` and a lab page, with every
subresource, as Chromium receives them (issue 18).

    .venv/bin/python -m benchmarks.page_weight [--output benchmarks/results/page_weight.json]

It builds a temporary SQLite database through the migrations, loads the shipped demo
catalogue, serves the app on 127.0.0.1 (werkzeug, one thread per request) and opens each
page in Debian's Chromium through Playwright, counting through the DevTools protocol:

Per page: `first_view_bytes` and `first_view_requests`, what came over the network with
an empty cache (headers plus encoded bodies, every subresource); `html_bytes` and
`html_raw_bytes`, the page's own document on the wire and decoded; `repeat_view_bytes` and
`repeat_view_requests`, the same page opened again in the same browser (revalidations
included).

Map tiles are off (`TILE_URL` empty): they are another host's weight, not LabNet's.
Nothing is asserted; the document goes to stdout and to `--output`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.demo_server import demo_server, first_lab_path

CHROMIUM = "/usr/bin/chromium"
PAGES = ("/", "/labs", "/map", "LAB")


def _view(page, cdp, url: str) -> dict[str, int]:
    """Open ``url`` and add up what came over the network for it."""
    received: dict[str, int] = {}
    cached: set[str] = set()
    documents: dict[str, int] = {}

    def on_response(event: dict[str, Any]) -> None:
        response = event["response"]
        if response.get("fromDiskCache") or response.get("fromMemoryCache"):
            cached.add(event["requestId"])
        if event.get("type") == "Document":
            documents[event["requestId"]] = 0

    def on_finished(event: dict[str, Any]) -> None:
        received[event["requestId"]] = int(event["encodedDataLength"])

    def on_data(event: dict[str, Any]) -> None:
        if event["requestId"] in documents:
            documents[event["requestId"]] += int(event["dataLength"])

    def on_served_from_cache(event: dict[str, Any]) -> None:
        cached.add(event["requestId"])

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.loadingFinished", on_finished)
    cdp.on("Network.dataReceived", on_data)
    cdp.on("Network.requestServedFromCache", on_served_from_cache)
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(300)
    over_network = {rid: n for rid, n in received.items() if rid not in cached}
    html = next(iter(documents), None)
    return {
        "bytes": sum(over_network.values()),
        "requests": len(over_network),
        "html_bytes": received.get(html, 0) if html else 0,
        "html_raw_bytes": documents.get(html, 0) if html else 0,
    }


def measure(base_url: str, paths: list[str]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for path in paths:
                context = browser.new_context()
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                first = _view(page, cdp, base_url + path)
                cdp.detach()
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                again = _view(page, cdp, base_url + path)
                results[path] = {
                    "first_view_bytes": first["bytes"],
                    "first_view_requests": first["requests"],
                    "html_bytes": first["html_bytes"],
                    "html_raw_bytes": first["html_raw_bytes"],
                    "repeat_view_bytes": again["bytes"],
                    "repeat_view_requests": again["requests"],
                }
                context.close()
        finally:
            browser.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="benchmarks/results/page_weight.json")
    args = parser.parse_args(argv)
    with demo_server() as (base_url, app):
        paths = [(first_lab_path(app) if p == "LAB" else p) for p in PAGES]
        document = {"pages": measure(base_url, paths)}
    text = json.dumps(document, indent=2)
    print(text)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
