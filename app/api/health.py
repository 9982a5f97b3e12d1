"""GET /healthz: the database and the outbox queue."""

import logging

from flask_babel import gettext as _
from flask_restful import Resource
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .. import outbox
from ..errors import error_body
from ..extensions import db

log = logging.getLogger(__name__)


class Health(Resource):
    def get(self):
        try:
            db.session.execute(text("SELECT 1"))
            queue = outbox.stats(include_done=False)
            events = outbox.stats("webhook", include_done=False)
        except SQLAlchemyError as error:
            db.session.rollback()
            log.error("health check: database unavailable (%s)", type(error).__name__)
            body = {"status": "unavailable", "database": "unavailable"}
            body.update(error_body("service_unavailable", _("The database is unreachable.")))
            return body, 503
        finally:
            db.session.rollback()
        health = ("pending", "failed", "overdue")
        return {
            "status": "ok",
            "database": "ok",
            # Every row, mail and webhook events alike; the events also on their own.
            "outbox": {k: queue[k] for k in health},
            "webhooks": {k: events[k] for k in health},
        }, 200
