from flask import jsonify, render_template
from sqlalchemy import text

from labnet.blueprints.main import bp
from labnet.extensions import db
from labnet.services.catalogue import pages as catalogue
from labnet.services.catalogue.taxonomy import ket_names


@bp.get("/")
def index():
    return render_template(
        "main/index.html",
        figures=catalogue.home_figures(),
        newest=catalogue.newest_labs(6),
        ket_names=ket_names(),
    )


@bp.get("/health")
def health():
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


@bp.get("/ping")
def ping():
    """The trivial route the benchmarks compare every page against."""
    return "ok"
