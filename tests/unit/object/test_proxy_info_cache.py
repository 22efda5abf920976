"""The proxy's container info cache: TTL, LRU bound, forgetting."""

from nubes.object.proxy import base
from nubes.object.proxy.base import InfoCache


def test_entries_expire_after_the_ttl(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(base.time, "monotonic", lambda: now[0])
    cache = InfoCache(ttl=60)
    cache.put(("a", "c"), {"x": "1"})
    now[0] += 59.9
    assert cache.get(("a", "c")) == {"x": "1"}
    now[0] += 0.2
    assert cache.get(("a", "c")) is None


def test_least_recently_used_dropped_and_forget():
    cache = InfoCache(size=2)
    cache.put(("a", "1"), {})
    cache.put(("a", "2"), {})
    assert cache.get(("a", "1")) == {}         # now the most recently used
    cache.put(("a", "3"), {})
    assert cache.get(("a", "2")) is None
    assert cache.get(("a", "1")) == {} and cache.get(("a", "3")) == {}
    cache.forget(("a", "1"))
    cache.forget(("a", "nothing"))
    assert cache.get(("a", "1")) is None
