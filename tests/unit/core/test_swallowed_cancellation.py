"""A cancellation that httpx's connect turns into a connection error (anyio's happy-eyeballs
connect does) still cancels the caller: a process asked to stop is not held by a retry loop
(it once waited 60 s for the compute agent's wait for placement)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from nubes.core.clients import ServiceClients


class _Tokens:
    identity_url = "http://127.0.0.1:1"

    async def service_token(self) -> str:
        return "service-token"


async def _swallowing_connect(request: httpx.Request) -> httpx.Response:
    asyncio.current_task().cancel()
    try:
        await asyncio.sleep(1)
    except asyncio.CancelledError:
        raise httpx.ConnectError("All connection attempts failed", request=request) from None
    raise AssertionError("not cancelled")


def _clients() -> ServiceClients:
    clients = ServiceClients(_Tokens(), http=httpx.AsyncClient(transport=httpx.MockTransport(_swallowing_connect)))
    clients._endpoints, clients._loaded = {"placement": "http://127.0.0.1:2"}, time.monotonic()
    return clients


async def test_a_swallowed_cancellation_still_cancels_the_request():
    with pytest.raises(asyncio.CancelledError):
        await _clients().request("placement", "GET", "")


async def test_a_wait_for_services_ends_when_its_task_is_cancelled():
    task = asyncio.create_task(_clients().wait_until_reachable(("placement",), timeout=30, interval=0.01))
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 10
