"""Entry point: `gunicorn wsgi:app`, `flask --app wsgi …`, `celery -A wsgi.celery_app worker`."""

import sys

from app import ConfigError, create_app

# gunicorn's "app failed to load" status: its master stops, instead of starting new workers
# that fail the same way forever. Any other runner just sees a non-zero exit.
APP_LOAD_ERROR = 4

try:
    app = create_app()
except ConfigError as error:
    print(f"configuration error: {error}", file=sys.stderr)
    sys.exit(APP_LOAD_ERROR)

celery_app = app.extensions.get("celery")
