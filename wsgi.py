"""gunicorn entry point: ``gunicorn 'wsgi:app'``."""

from labnet import create_app

app = create_app()
