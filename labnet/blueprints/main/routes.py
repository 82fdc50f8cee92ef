from urllib.parse import urlsplit

from flask import current_app, jsonify, render_template

from labnet.blueprints.main import bp
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
    """Alive: the process answers (no database call; ``/ready`` checks what it needs)."""
    return jsonify({"status": "ok"})


@bp.get("/ping")
def ping():
    """The trivial route the benchmarks compare every page against."""
    return "ok"


def _operator() -> dict[str, object]:
    """The operator's details from the settings (config OPERATOR_*), for the legal pages."""
    config = current_app.config
    address = str(config["OPERATOR_ADDRESS"]).replace(";", "\n")
    return {
        "name": config["OPERATOR_NAME"],
        "address_lines": [line.strip() for line in address.splitlines() if line.strip()],
        "email": config["OPERATOR_EMAIL"],
        "phone": config["OPERATOR_PHONE"],
        "representative": config["OPERATOR_REPRESENTATIVE"],
        "register": config["OPERATOR_REGISTER"],
        "vat_id": config["OPERATOR_VAT_ID"],
        "privacy_email": config["PRIVACY_CONTACT_EMAIL"],
        "authority": config["PRIVACY_AUTHORITY"],
        "placeholders": config["OPERATOR_PLACEHOLDERS"],
        "terms_version": config["TERMS_VERSION"],
        "tile_host": urlsplit(config["TILE_URL"]).hostname,
    }


@bp.get("/imprint")
def imprint():
    return render_template("main/imprint.html", operator=_operator())


@bp.get("/privacy")
def privacy():
    return render_template("main/privacy.html", operator=_operator())


@bp.get("/terms")
def terms():
    return render_template("main/terms.html", operator=_operator())


@bp.get("/accessibility")
def accessibility():
    """The accessibility statement the EU Web Accessibility Directive asks for."""
    return render_template("main/accessibility.html", operator=_operator())
