"""GET /openapi.json: the hand-kept OpenAPI document."""

import json
from functools import cache
from pathlib import Path

from flask_restful import Resource

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "openapi.json"


@cache
def openapi_document() -> dict:
    return json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


class OpenApiDocument(Resource):
    def get(self):
        return openapi_document(), 200
