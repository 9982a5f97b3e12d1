"""Small steps the account-lifecycle tests share: signing in, asking for links, reading them."""

from urllib.parse import urlsplit

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple battery horse correct"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def login(client, email, password=PASSWORD):
    return client.post("/login", json={"email": email, "password": password})


def access_token(client, email, password=PASSWORD) -> str:
    response = login(client, email, password)
    assert response.status_code == 200, response.json
    return response.json["access_token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def path_of(link: str) -> str:
    """The path and query of an emailed link, as the test client requests it."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"
