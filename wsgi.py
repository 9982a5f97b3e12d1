"""Entry point: `gunicorn wsgi:app`, `flask --app wsgi …`, `celery -A wsgi.celery_app worker`."""

import sys

from app import ConfigError, create_app

try:
    app = create_app()
except ConfigError as error:
    sys.exit(f"configuration error: {error}")

celery_app = app.extensions.get("celery")
