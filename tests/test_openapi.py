"""The hand-kept OpenAPI document: the same routes as the app, valid 3.1, served as JSON."""

import json

import schemathesis

from app.api.docs import OPENAPI_PATH

METHODS = {"get", "post", "put", "patch", "delete"}


def documented_routes() -> set[tuple[str, str]]:
    document = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    return {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def registered_routes(app) -> set[tuple[str, str]]:
    return {
        (rule.rule, method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_registered_route_is_documented(app):
    assert registered_routes(app) - documented_routes() == set()


def test_every_documented_route_exists(app):
    assert documented_routes() - registered_routes(app) == set()


def test_document_is_valid_openapi_3_1():
    document = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    schema = schemathesis.openapi.from_dict(document)
    # Resolving every operation validates the document and each $ref in it.
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.path, op.method.lower()) for op in operations} == documented_routes()


def test_openapi_json_is_served(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json == json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
