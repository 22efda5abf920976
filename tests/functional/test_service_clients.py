"""nubes.core.clients: one service calling another through the catalog, as OpenStack services do."""

from __future__ import annotations

import asyncio

import pytest

from nubes.core.auth.tokens import RemoteTokenValidator
from nubes.core.clients import ServiceClients
from nubes.core.exceptions import ServiceUnavailable


def _clients(cloud) -> ServiceClients:
    auth = cloud.clouds["nubes"]["auth"]
    tokens = RemoteTokenValidator(f"http://127.0.0.1:{cloud.ports['identity']}", auth["username"],
                                  auth["password"], auth["project_name"])
    return ServiceClients(tokens, region="RegionOne")


def test_calls_other_services_found_in_the_catalog(cloud):
    async def run():
        clients = _clients(cloud)
        try:
            assert (await clients.endpoint("image")).endswith(f":{cloud.ports['image']}")
            resp = await clients.request("image", "GET", "/v2/images")
            assert resp.status_code == 200 and "images" in resp.json()
            # acting with a user's token instead of the service token
            resp = await clients.request("network", "GET", "/v2.0/networks", token=cloud.token())
            assert resp.status_code == 200
            resp = await clients.request("image", "GET", "/v2/images", token="garbage")
            assert resp.status_code == 401
            # block storage's URL names the project: the service token's, substituted by identity
            volume = await clients.endpoint("volumev3")
            assert volume.startswith(f"http://127.0.0.1:{cloud.ports['volume']}/v3/")
            assert "%(" not in volume and len(volume.rsplit("/", 1)[1]) == 32
            # a service this cloud does not run (orchestration is not built yet)
            with pytest.raises(ServiceUnavailable, match="No orchestration service"):
                await clients.endpoint("orchestration")
        finally:
            await clients.close()
            await clients.tokens.close()

    asyncio.run(run())


def test_a_path_built_from_a_client_id_reaches_the_service_encoded(cloud):
    """An id a client sent (a NUL, a space, a '#', non-ASCII) in a path is percent-encoded on the
    way, and the other service answers for that id (httpx refused such a URL: a 500 before)."""
    async def run():
        clients = _clients(cloud)
        try:
            # No id holds a NUL: the service refuses it (400) before looking; the others are unknown.
            for bogus, status in (("a\x00b", 400), ("a b#c", 404), ("n\u00e4me", 404)):
                resp = await clients.request("network", "GET", f"/v2.0/ports/{bogus}", token=cloud.token())
                assert resp.status_code == status, resp.text
        finally:
            await clients.close()
            await clients.tokens.close()

    asyncio.run(run())
