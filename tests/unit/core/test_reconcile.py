"""core.reconcile: keys converge once per queueing, failures retry with backoff, others go on."""

from __future__ import annotations

import asyncio

from nubes.core.reconcile import Reconciler


class Recorder(Reconciler):
    name = "test"
    resync = 0.05
    retry_base = 0.01

    def __init__(self, keys, fail_times=None):
        super().__init__()
        self._keys = keys
        self.fail_times = dict(fail_times or {})
        self.done: list = []

    async def keys(self):
        return list(self._keys)

    async def reconcile(self, key):
        if self.fail_times.get(key, 0) > 0:
            self.fail_times[key] -= 1
            raise RuntimeError(f"{key} not yet")
        self.done.append(key)


async def test_run_once_and_coalescing():
    r = Recorder(["a", "b"])
    r.enqueue("a")
    r.enqueue("a")
    await r.run_once()
    assert sorted(r.done) == ["a", "b"]


async def test_failures_retry_and_do_not_block_others():
    r = Recorder(["a", "b"], fail_times={"a": 2})
    task = asyncio.create_task(r.run())
    for _ in range(200):
        if "a" in r.done and "b" in r.done:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert "a" in r.done and "b" in r.done
    assert r.fail_times["a"] == 0


async def test_a_cloud_error_is_logged_with_its_message_and_no_traceback(caplog):
    from nubes.core.exceptions import ServiceUnavailable

    class Unavailable(Recorder):
        async def reconcile(self, key):
            if key == "down":
                raise ServiceUnavailable("The placement service is unreachable")
            raise RuntimeError("a bug")

    r = Unavailable(["down", "bug"])
    with caplog.at_level("WARNING", logger="nubes.core.reconcile"):
        await r.run_once()
    by_key = {("down" if "'down'" in rec.getMessage() else "bug"): rec for rec in caplog.records}
    assert "The placement service is unreachable" in by_key["down"].getMessage()
    assert by_key["down"].exc_info is None and by_key["down"].levelname == "WARNING"
    assert by_key["bug"].exc_info is not None and by_key["bug"].levelname == "ERROR"
