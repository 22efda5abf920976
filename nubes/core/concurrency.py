"""The one way to run blocking work from async code."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def run_blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


def cancelled_if_cancelling() -> None:
    """Raise CancelledError when the current task is being cancelled.

    httpx's connection code (anyio's happy-eyeballs connect) can turn a cancellation that lands
    while it connects into "All connection attempts failed". A caller that catches that error
    and retries would then swallow the cancellation, and a process asked to stop would wait
    for its retry loop to run out. Call this where such an error is caught."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
