"""``[core] metrics = "token"``: every API port's /metrics wants the bearer token, and the
metadata API (which instances reach through the metadata proxy) never serves metrics."""

from __future__ import annotations

import httpx
import pytest

from tests.functional.hardening.conftest import METRICS_TOKEN, SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_metrics_want_the_bearer_token(dedicated_hardened_cloud, service):
    url = dedicated_hardened_cloud.url(service, "/metrics")
    refused = httpx.get(url, headers={"Accept": "application/json"}, timeout=30)
    assert refused.status_code == 401, refused.text
    assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert "nubes_http" not in refused.text
    wrong = httpx.get(url, headers={"Authorization": "Bearer " + METRICS_TOKEN[:-1]}, timeout=30)
    assert wrong.status_code == 401
    ok = httpx.get(url, headers={"Authorization": "Bearer " + METRICS_TOKEN}, timeout=30)
    assert ok.status_code == 200 and "nubes_http_requests_total" in ok.text


def test_the_metadata_api_serves_no_metrics(dedicated_hardened_cloud):
    url = dedicated_hardened_cloud.url("compute-metadata", "/metrics")
    for headers in ({}, {"Authorization": "Bearer " + METRICS_TOKEN}):
        r = httpx.get(url, headers=headers, timeout=30)
        assert r.status_code == 404 and "nubes_http" not in r.text, r.text
