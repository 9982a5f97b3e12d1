"""schemathesis against a live gunicorn server: no 5xx, documented answers, bounded, seeded."""

import json

import pytest
import schemathesis

from app import create_app
from app.api.docs import OPENAPI_PATH
from app.extensions import db
from tests.conftest import TEST_DATABASE_URL, Database
from tests.support.server import LiveServer
from tests.support.smtp import SMTPServer

EXAMPLES_PER_OPERATION = 100
# Answers the contract gives to requests that match the document's schemas but not the
# service's rules (a common password, a forged token, unknown credentials, no bearer token;
# 429 from the per-address cap on verification-code guesses, which rate-limit settings never
# switch off, once the fuzzer has sent a few codes for one address).
LEGITIMATE_STATUSES = ["200", "202", "204", "400", "401", "403", "409", "413", "415", "429"]


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": 20240505,
            "generation": {
                "max-examples": EXAMPLES_PER_OPERATION,
                "deterministic": True,  # hypothesis derandomize: the same cases every run
                "database": "none",
            },
            "checks": {
                "positive_data_acceptance": {"expected-statuses": LEGITIMATE_STATUSES},
            },
            "operations": [
                {
                    # /metrics is a 404 for anyone without METRICS_TOKEN (unset in this server),
                    # not a 401: it does not tell that metrics exist.
                    "include-path": "/metrics",
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": ["200", "404"]},
                        "missing_required_header": {"enabled": False},
                        "ignored_auth": {"enabled": False},
                    },
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def live_api(tmp_path_factory):
    """One server for the whole run: PostgreSQL where available (stricter about bad input)."""
    database = Database(
        "postgresql" if TEST_DATABASE_URL else "sqlite", tmp_path_factory.mktemp("fuzz")
    )
    smtp = SMTPServer()
    smtp.start()
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    # Rate limits off: the fuzzer sends far more than a person would.
    server = LiveServer(database.url, smtp.port, workers=2, threads=4, RATELIMIT_ENABLED="false")
    server.start()
    yield server
    server.stop()
    smtp.stop()
    database.drop()


def _schema():
    document = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    return schemathesis.openapi.from_dict(document, config=_config())


schema = _schema()


@pytest.mark.slow
@pytest.mark.live_server
@schema.parametrize()
def test_api_answers_as_documented(case, live_api):
    case.call_and_validate(base_url=live_api.url, timeout=30)
