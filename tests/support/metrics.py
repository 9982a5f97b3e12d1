"""Scraping GET /metrics of a live server, as Prometheus would."""

import requests
from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "metrics-token-for-tests-0123456789"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def scrape(server, headers=SCRAPER) -> dict[tuple, float]:
    """The scraped samples as {(name, (label, value), ...): value}."""
    response = requests.get(f"{server.url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, *sorted(labels.items())), 0.0)
