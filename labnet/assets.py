"""Page weight: compressed answers, fingerprinted static URLs, long cache lifetimes.

Every ``url_for`` of a static endpoint (the app's ``static``, Bootstrap-Flask's
``bootstrap.static``, the map's ``maps.vendor``) gets ``v=<hash of the file's bytes>``. A
request carrying the file's current hash is answered with ``Cache-Control: public,
max-age=STATIC_MAX_AGE, immutable``, so a browser keeps the file without asking again; a
changed file has a new hash, hence a new URL, and is fetched afresh. A URL without ``v``
or with a stale one keeps the default (revalidated) caching.

Pages and static files go out compressed (Flask-Compress) to clients that accept it,
except the JSON API's answers.

Hashes are computed once per process and file; in debug mode on every URL, so an edited
file is seen at once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, request
from werkzeug.security import safe_join


def _file_hash(path: str) -> str:
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=6).hexdigest()


def init_assets(app: Flask) -> None:
    hashes: dict[tuple[str, str], str | None] = {}

    def folder_of(endpoint: str, values: dict) -> str | None:
        if endpoint == "static":
            return app.static_folder
        if endpoint == "maps.vendor":
            from labnet.services.catalogue import maps

            found = maps.vendor_dir(str(values.get("package", "")))
            return str(found) if found is not None else None
        blueprint = app.blueprints.get(endpoint.rsplit(".", 1)[0])
        return blueprint.static_folder if blueprint is not None else None

    def fingerprint(endpoint: str, values: dict) -> str | None:
        folder = folder_of(endpoint, values)
        filename = values.get("filename")
        if folder is None or not filename:
            return None
        key = (folder, str(filename))
        if key not in hashes or app.debug:
            path = safe_join(folder, str(filename))
            hashes[key] = _file_hash(path) if path and os.path.isfile(path) else None
        return hashes[key]

    def is_asset(endpoint: str | None) -> bool:
        if not endpoint:
            return False
        return endpoint in ("static", "maps.vendor") or endpoint.endswith(".static")

    @app.url_defaults
    def _version(endpoint: str, values: dict) -> None:
        if is_asset(endpoint) and "v" not in values:
            version = fingerprint(endpoint, values)
            if version:
                values["v"] = version

    from labnet.extensions import compress

    @app.after_request
    def _compress(response):
        # Runs after _long_cache (registered later, so called earlier). The JSON API keeps
        # its answers and ETags as they are: its clients and its document checker see the
        # bytes the API describes.
        if request.blueprint == "api":
            return response
        return compress.after_request(response)

    @app.after_request
    def _long_cache(response):
        if is_asset(request.endpoint) and response.is_streamed:
            # Read the (small) file into the response and close it now: Flask-Compress,
            # which runs next, then compresses it whole (gzip included) instead of
            # streaming it from a file handle nothing would close if the client left.
            response.direct_passthrough = False
            response.make_sequence()
            response.close()  # the file is read: let go of its handle (closing is idempotent)
        if (is_asset(request.endpoint) and response.status_code in (200, 304)
                and request.args.get("v")
                and request.args["v"] == fingerprint(request.endpoint or "",
                                                     dict(request.view_args or {}))):
            response.headers["Cache-Control"] = (
                f"public, max-age={int(app.config['STATIC_MAX_AGE'])}, immutable")
        return response
