"""Running programs for the agents: asynchronous, bounded in time, optionally inside a namespace."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

LOG = logging.getLogger(__name__)


class CommandFailed(RuntimeError):
    def __init__(self, argv: list[str], code: int | None, stderr: str) -> None:
        self.argv, self.code, self.stderr = argv, code, stderr
        what = "timed out" if code is None else f"exited {code}"
        super().__init__(f"{' '.join(argv[:6])}{' ...' if len(argv) > 6 else ''} {what}: {stderr.strip()[:500]}")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def in_netns(netns: str | None, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv] if netns else list(argv)


async def run(argv: list[str], *, netns: str | None = None, stdin: str | None = None, timeout: float = 30.0,
              check: bool = True) -> Result:
    """Run ``argv`` (inside ``netns`` when given) and wait for it; raises CommandFailed when it fails."""
    full = in_netns(netns, argv)
    proc = await asyncio.create_subprocess_exec(
        *full, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin is not None else None), timeout)
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        raise
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        if check:
            raise CommandFailed(full, None, f"no answer in {timeout:.0f}s") from None
        return Result(-1, "", "timeout")
    res = Result(proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))
    if check and res.code != 0:
        raise CommandFailed(full, res.code, res.stderr or res.stdout)
    return res


async def sysctl(values: dict[str, str], netns: str | None = None) -> None:
    """Set kernel parameters of the namespace (``net.ipv4.ip_forward`` -> ``1``)."""
    await run(["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in values.items())], netns=netns)


async def sysctl_get(name: str, netns: str | None = None) -> str | None:
    res = await run(["sysctl", "-n", name], netns=netns, check=False)
    return res.stdout.strip() if res.code == 0 else None
