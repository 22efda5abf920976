"""``[core] metrics``: /metrics on (as before), off (404 in the service's format) or behind a
bearer token; never on an app that instances reach."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest

from nubes.core.api.app import ServiceApp
from nubes.core.config import ConfigError, load
from nubes.core.errors import nova_style


async def _no_tokens(token: str, request_id: str):  # pragma: no cover - no route needs one
    raise AssertionError("no route here needs a token")


def _client(env: dict[str, str], **kwargs) -> httpx.AsyncClient:
    conf = load(None, {}, env=env)
    app = ServiceApp("compute", [], nova_style.render, SimpleNamespace(conf=conf), _no_tokens, **kwargs)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def test_on_by_default():
    async with _client({}) as c:
        r = await c.get("/metrics")
    assert r.status_code == 200 and "nubes_http_requests_total" in r.text


async def test_off_is_an_unknown_path_in_the_services_format():
    async with _client({"NUBES_CORE__METRICS": "off"}) as c:
        r = await c.get("/metrics")
        assert (await c.get("/healthcheck")).text == "OK"
    assert r.status_code == 404 and r.json()["itemNotFound"]["code"] == 404


async def test_token_wants_the_bearer_token():
    async with _client({"NUBES_CORE__METRICS": "token", "NUBES_CORE__METRICS_TOKEN": "s3cret"}) as c:
        missing = await c.get("/metrics")
        wrong = await c.get("/metrics", headers={"Authorization": "Bearer nope"})
        basic = await c.get("/metrics", headers={"Authorization": "Basic s3cret"})
        right = await c.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    for r in (missing, wrong, basic):
        assert r.status_code == 401 and r.json()["unauthorized"]["code"] == 401
        assert r.headers["www-authenticate"] == 'Bearer realm="metrics"'
        assert "nubes_http" not in r.text
    assert right.status_code == 200 and "nubes_http_requests_total" in right.text


async def test_an_app_instances_reach_never_serves_it():
    async with _client({}, metrics_endpoint=False) as c:
        r = await c.get("/metrics")
    assert r.status_code == 404


@pytest.mark.parametrize("env,needle", [
    ({"NUBES_CORE__METRICS": "maybe"}, 'expected "on", "off" or "token"'),
    ({"NUBES_CORE__METRICS": "token"}, "needs [core] metrics_token"),
])
def test_bad_settings_are_configuration_errors(env, needle):
    with pytest.raises(ConfigError) as err:
        load(None, {}, env=env)
    assert needle in str(err.value)


def test_booleans_are_on_and_off(tmp_path):
    f = tmp_path / "nubes.toml"
    f.write_text("[core]\nmetrics = false\n")
    assert load(f, {}, env={}).core.metrics == "off"
    assert load(None, {}, env={"NUBES_CORE__METRICS": "ON"}).core.metrics == "on"
