"""Every service refuses a token the moment it expires, though each validated (and cached) it
just before; a revoked token stays refused while ``?allow_expired=1`` could still accept it."""

from __future__ import annotations

import time
from datetime import datetime

import httpx

# A GET each service answers to any valid token, and the top-level key of its 401 body: the
# token middleware's (Keystone's) before image, network and compute, placement's own.
PROBES = {
    "identity": ("/v3/auth/projects", "error"),
    "image": ("/v2/images", "error"),
    "placement": ("/resource_providers", "errors"),
    "network": ("/v2.0/networks", "error"),
    "compute": ("/v2.1/servers", "error"),
}


def _get(cloud, service: str, token: str) -> httpx.Response:
    return httpx.get(cloud.url(service, PROBES[service][0]), timeout=30,
                     headers={"X-Auth-Token": token, "Accept": "application/json"})


def _without_request_ids(body):
    if isinstance(body, dict):
        return {k: _without_request_ids(v) for k, v in body.items() if k != "request_id"}
    if isinstance(body, list):
        return [_without_request_ids(v) for v in body]
    return body


def _issue(cloud) -> tuple[str, float]:
    token = cloud.token()
    r = httpx.get(f"{cloud.auth_url}/auth/tokens", timeout=30,
                  headers={"X-Auth-Token": token, "X-Subject-Token": token})
    expires = datetime.fromisoformat(r.json()["token"]["expires_at"].replace("Z", "+00:00"))
    return token, expires.timestamp()


def _sleep_until(when: float) -> None:
    time.sleep(max(0.0, when - time.time()) + 0.01)


def test_every_service_refuses_a_token_the_moment_it_expires(dedicated_hardened_cloud):
    cloud = dedicated_hardened_cloud
    token, expires = _issue(cloud)
    for service in PROBES:              # validated now, so cached by every service
        r = _get(cloud, service, token)
        assert r.status_code == 200, (service, r.text)
    assert time.time() < expires, "the token expired before every service had seen it"
    _sleep_until(expires)
    for service, (_path, key) in PROBES.items():
        r = _get(cloud, service, token)
        assert r.status_code == 401, (service, r.status_code, r.text)
        assert key in r.json(), (service, r.text)
        # the very answer a token the service never saw gets
        assert _without_request_ids(r.json()) == _without_request_ids(_get(cloud, service, "unknown").json())


def test_a_revoked_token_stays_refused_after_it_expires(dedicated_hardened_cloud):
    cloud = dedicated_hardened_cloud
    url = f"{cloud.auth_url}/auth/tokens"
    revoked, expires = _issue(cloud)
    kept, kept_expires = _issue(cloud)
    r = httpx.delete(url, headers={"X-Auth-Token": cloud.token(), "X-Subject-Token": revoked}, timeout=30)
    assert r.status_code == 204, r.text
    _sleep_until(max(expires, kept_expires))
    admin = cloud.token()
    r = httpx.get(url + "?allow_expired=1", headers={"X-Auth-Token": admin, "X-Subject-Token": revoked},
                  timeout=30)
    assert r.status_code == 404, r.text
    # an expired token nobody revoked is what allow_expired accepts
    r = httpx.get(url + "?allow_expired=1", headers={"X-Auth-Token": admin, "X-Subject-Token": kept},
                  timeout=30)
    assert r.status_code == 200, r.text
