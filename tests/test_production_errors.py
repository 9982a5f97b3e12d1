"""With TESTING off, as in production, every error is still the JSON envelope."""

import logging

import pytest

from app import services


def test_unexpected_exception_is_json_500_with_a_logged_request_id(
    production_client, monkeypatch, caplog
):
    def explode(email, password):
        raise RuntimeError("boom: secret internals")

    monkeypatch.setattr(services, "register", explode)
    with caplog.at_level(logging.ERROR):
        response = production_client.post(
            "/register", json={"email": "ann@example.com", "password": "correct horse battery"}
        )
    assert response.status_code == 500
    body = response.json
    assert body["error"]["code"] == "internal_error"
    assert "boom" not in response.get_data(as_text=True)
    request_id = response.headers["X-Request-ID"]
    assert request_id in body["error"]["message"]
    assert any(request_id in r.getMessage() and r.exc_info for r in caplog.records)


@pytest.mark.parametrize(
    "method, path, kwargs, status, code",
    [
        ("get", "/nowhere", {}, 404, "not_found"),
        ("get", "/register", {}, 405, "method_not_allowed"),
        (
            "post",
            "/register",
            {"data": "x" * 70000, "content_type": "application/json"},
            413,
            "payload_too_large",
        ),
        (
            "post",
            "/register",
            {"data": "{", "content_type": "application/json"},
            400,
            "invalid_json",
        ),
        ("post", "/confirm", {"json": {"token": "bad"}}, 400, "token_invalid"),
        ("get", "/me", {}, 401, "unauthorized"),
    ],
)
def test_errors_are_json_outside_testing(production_client, method, path, kwargs, status, code):
    response = getattr(production_client, method)(path, **kwargs)
    assert response.status_code == status
    assert response.json["error"]["code"] == code


@pytest.mark.parametrize(
    "method, path, kwargs",
    [
        ("get", "/confirm?token=bad", {}),
        ("get", "/password/reset?token=bad", {}),
        ("get", "/email/revert?token=bad", {}),
        ("post", "/confirm", {"data": {"token": "bad"}}),
        ("post", "/email/revert", {"data": {"token": "bad"}}),
    ],
)
def test_a_browser_on_an_emailed_link_gets_the_page_outside_testing(
    production_client, method, path, kwargs
):
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    response = getattr(production_client, method)(path, headers=browser, **kwargs)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "not valid" in response.get_data(as_text=True)
    # The same error for an API client stays the envelope.
    api = getattr(production_client, method)(path, json=kwargs.get("data"))
    assert api.json["error"]["code"] == "token_invalid"
