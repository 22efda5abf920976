"""Global test settings: how the suite is split across parallel workers, and the cloud logs of a failure.

Parallel runs (pytest-xdist, see docs/testing.md): every test module is one unit of work, so a
module's (and its package's) shared clouds start once per worker that runs it. The modules in
``HOST_MODULES`` use what only one test at a time may use -- the host's root network namespace,
its bridges, tap devices and nftables -- and form one unit together: they run one after another
in one worker, handed out first since together they are the longest.

The units are made here (``pytest_xdist_make_scheduler``) rather than with xdist's
``xdist_group`` marks: with pytest 9.2, xdist 3.8's ``loadgroup`` mode no longer regroups tests
(it renames a node attribute pytest stopped using) and silently falls back to one test per unit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import cloud as cloud_mod

HOST = "host"
HOST_MODULES = (
    "tests/contract/test_compute_driver.py",        # the qemu driver's guests: taps in the root namespace
    "tests/e2e/test_real_instances.py",             # real instances on the host's data plane
    "tests/functional/guest/",                      # the qemu driver and the test guest
    "tests/functional/network_dataplane/",          # the agents' lab: namespaces, /run/nubes/test
)
LOG_LINES = 200


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: HOST, or its module."""
    module = nodeid.split("::", 1)[0]
    return HOST if module.startswith(HOST_MODULES) else module


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        """Whole units to a worker, in the order collected (so HOST, collected first, starts first)."""

        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A stable sort: the host unit first, the order of collection kept inside and among the others.
    items.sort(key=lambda it: 0 if unit_of(it.nodeid) == HOST else 1)


# -- the cloud logs of a failing test ------------------------------------------------------------

_OFFSETS = pytest.StashKey[dict]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    cloud_mod.STARTED[:] = [c for c in cloud_mod.STARTED if c.proc is not None and c.proc.poll() is None]
    item.stash[_OFFSETS] = {id(c): _size(c.log_path) for c in cloud_mod.STARTED}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed and report.when in ("setup", "call"):
        offsets = item.stash.get(_OFFSETS, {})
        for c in _clouds_of(item):
            text = _tail(c.log_path, offsets.get(id(c), 0))
            if text:
                report.sections.append((f"cloud log {c.state_dir} (during this test)", text))
    return report


def _clouds_of(item: pytest.Item) -> list[cloud_mod.Cloud]:
    """The clouds the test used (its fixtures, or what they hold), else every cloud this worker runs."""
    found: list[cloud_mod.Cloud] = []
    for value in getattr(item, "funcargs", {}).values():
        values = list(value) if isinstance(value, tuple) else [value]
        for candidate in [*values, *(getattr(v, "cloud", None) for v in values)]:
            if isinstance(candidate, cloud_mod.Cloud) and candidate not in found:
                found.append(candidate)
    started = item.stash.get(_OFFSETS, {})
    found += [c for c in cloud_mod.STARTED if id(c) not in started and c not in found]   # started by the test
    return found or [c for c in cloud_mod.STARTED if c.proc is not None and c.proc.poll() is None]


def _size(path: Path | None) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


def _tail(path: Path | None, offset: int) -> str:
    if path is None:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return ""
    lines = data.decode(errors="replace").splitlines()
    cut = len(lines) - LOG_LINES
    return "\n".join(([f"... ({cut} earlier lines)"] if cut > 0 else []) + lines[-LOG_LINES:])
