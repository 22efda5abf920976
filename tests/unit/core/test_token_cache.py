"""The core's token validation cache never outlives a token's expires_at."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from nubes.core.auth import tokens
from nubes.core.auth.tokens import RemoteTokenValidator, TokenCache, token_expiry
from nubes.core.exceptions import Unauthorized


class Clock:
    """Stands for the time module in nubes.core.auth.tokens: wall and monotonic clocks that only
    move when told."""

    def __init__(self) -> None:
        self.now = time.time()
        self.mono = 1000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(tokens, "time", c)
    return c


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_expiry_is_read_from_the_body():
    assert token_expiry({"token": {"expires_at": "2030-01-02T03:04:05.678000Z"}}) == \
        datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC).timestamp()
    assert token_expiry({"token": {}}) is None
    assert token_expiry({"token": {"expires_at": "soon"}}) is None


def test_an_entry_goes_the_instant_its_token_expires(clock):
    cache = TokenCache(ttl=60)
    cache.put("t", "body", clock.now + 5)
    clock.advance(4.999)
    assert cache.get("t") == "body"
    clock.advance(0.001)
    assert cache.get("t") is None and len(cache) == 0


def test_ttl_still_bounds_a_long_lived_token(clock):
    cache = TokenCache(ttl=60)
    cache.put("t", "body", clock.now + 3600)
    clock.advance(59)
    assert cache.get("t") == "body"
    clock.advance(1)
    assert cache.get("t") is None


def test_an_expired_token_is_not_cached(clock):
    cache = TokenCache(ttl=60)
    cache.put("t", "body", clock.now)
    assert cache.get("t") is None and len(cache) == 0


def _identity(clock: Clock, lifetime: float, calls: list[str], *, skew: float = 0.0) -> httpx.AsyncClient:
    """Identity that issues service tokens and validates any subject token for ``lifetime`` s
    from the first time it sees it (after which it answers 404, as identity does); its clock is
    ``skew`` seconds behind ours."""
    first_seen: dict[str, float] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method == "POST":
            return httpx.Response(201, headers={"x-subject-token": "svc"},
                                  json={"token": {"expires_at": _iso(clock.now + 3600)}})
        subject = request.headers["x-subject-token"]
        expires = first_seen.setdefault(subject, clock.now + lifetime)
        if clock.now - skew >= expires:
            return httpx.Response(404, json={"error": {"code": 404}})
        return httpx.Response(200, json={"token": {"expires_at": _iso(expires), "user": {"id": "u"}}})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_remote_validator_refuses_a_cached_token_once_it_expires(clock):
    calls: list[str] = []
    v = RemoteTokenValidator("http://identity", "svc", "pw", "service", ttl=60,
                             http=_identity(clock, 5, calls))
    assert (await v("user-token", "req-1")).user_id == "u"
    await v("user-token", "req-2")
    assert calls == ["POST", "GET"]                     # the second answer came from the cache
    clock.advance(5.001)                                # (expires_at is rendered to the microsecond)
    with pytest.raises(Unauthorized):
        await v("user-token", "req-3")
    assert calls == ["POST", "GET", "GET"]              # asked identity again, which refused it


async def test_remote_validator_refuses_a_body_already_expired_here(clock):
    """identity's clock behind ours: the token it vouches for has expired by this host's clock."""
    calls: list[str] = []
    v = RemoteTokenValidator("http://identity", "svc", "pw", "service", ttl=60,
                             http=_identity(clock, -1, calls, skew=2))   # 200, expired a second ago
    with pytest.raises(Unauthorized):
        await v.validate_body("t")
    assert calls == ["POST", "GET"] and len(v.cache) == 0


@pytest.mark.parametrize("lifetime,reuse", [(3600, 1800), (600, 480), (6, 3), (0, 0)])
def test_a_service_token_is_renewed_before_it_expires(clock, lifetime, reuse):
    assert tokens._reuse_for(clock.now + lifetime) == pytest.approx(reuse)
    assert tokens._reuse_for(None) == 1800
