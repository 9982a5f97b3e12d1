"""GET /metrics: Prometheus text, only for a scraper bearing METRICS_TOKEN."""

import hmac

from flask import Response, current_app
from flask_restful import Resource
from werkzeug.exceptions import NotFound

from .. import metrics, outbox
from ..extensions import db
from ..timeutil import utcnow
from .sessions import bearer_token


class Metrics(Resource):
    def get(self):
        expected = current_app.config.get("METRICS_TOKEN")
        given = bearer_token() or ""
        # 404, not 401: without the token nobody learns that metrics are served here.
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise NotFound()
        try:
            counts = outbox.stats()
            oldest = outbox.oldest_pending_queued_at()
        finally:
            db.session.rollback()
        counts.pop("overdue")  # not a status: the age gauge tells how late the queue is
        families = metrics.outbox_gauges(counts, oldest, utcnow())
        return Response(metrics.exposition(families), content_type=metrics.CONTENT_TYPE)
