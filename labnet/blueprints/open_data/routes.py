"""The open-data page, the files the daily job writes, and the DCAT-AP catalogue.

Files are served from disk as they are (streamed, with ETag and Last-Modified, answering
304 to a conditional request); every rule about what they hold is in
``services.catalogue.open_data``.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Response, abort, current_app, render_template, request, send_file

from labnet.blueprints.open_data import bp
from labnet.services.catalogue import open_data


def dump_dir() -> Path:
    return open_data.dump_dir(current_app.config, current_app.instance_path)


def _base_url() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


@bp.get("/open-data")
def index():
    manifest = open_data.read_manifest(dump_dir())
    return render_template("open_data/index.html", manifest=manifest,
                           datasets=open_data.DATASETS, licence=open_data.LICENCE,
                           licence_name=open_data.LICENCE_NAME)


@bp.get("/open-data/catalog.jsonld")
def catalog():
    body = open_data.dcat_catalog(open_data.read_manifest(dump_dir()), base_url=_base_url(),
                                  publisher=current_app.config.get("SITE_PUBLISHER", "LabNet"))
    response = Response(json.dumps(body, indent=1), mimetype="application/ld+json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/open-data/<name>")
def download(name: str):
    if name not in open_data.FILES:
        abort(404)
    path = dump_dir() / name
    if not path.is_file():
        abort(404)  # before the first dump
    fmt = name.rsplit(".", 1)[1]
    response = send_file(path, mimetype=open_data.MEDIA_TYPES[fmt], conditional=True,
                         etag=True, max_age=3600, download_name=name,
                         as_attachment=fmt == "csv")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.cache_control.public = True
    return response
