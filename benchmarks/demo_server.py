"""The demo platform served on 127.0.0.1 for measurements made through a browser
(page weight, Lighthouse): a temporary SQLite database built through the migrations, the
shipped demo data, werkzeug with one thread per request, map tiles off."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

from benchmarks.database import build_app, migrate, sqlite_target


def first_lab_path(app) -> str:
    """A published demo lab's page."""
    from sqlalchemy import select

    from labnet.extensions import db
    from labnet.models import Lab

    with app.app_context():
        slug = db.session.scalar(select(Lab.slug).where(Lab.slug.is_not(None))
                                 .order_by(Lab.id).limit(1))
    return f"/labs/{slug}"


@contextmanager
def demo_server() -> Iterator[tuple[str, object]]:
    """(base URL, app) of the demo platform, for the ``with`` block's duration."""
    from labnet import clock
    from labnet.extensions import db
    from labnet.services.seed import seed_demo

    with tempfile.TemporaryDirectory() as folder:
        target = sqlite_target(Path(folder), "demo")
        server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
        app = build_app(target, Path(folder))
        app.config.update(TILE_URL="", SERVER_NAME=None, GEOJSON_CACHE_SECONDS=60,
                          FACET_CACHE_SECONDS=60)
        migrate(app, target, quiet=True)
        with app.app_context():
            seed_demo(now=clock.utcnow())
            db.session.commit()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server.app = app  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", app
        finally:
            server.shutdown()
            thread.join(timeout=10)
