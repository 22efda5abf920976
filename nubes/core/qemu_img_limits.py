"""The limits a ``qemu-img info`` of an image that came from a user runs under.

A crafted qcow2 (huge L1 or refcount tables) can make ``qemu-img info`` allocate gigabytes or
spin for minutes (CVE-2015-5162), so Nova runs it with 1 GiB of address space and 30 s of CPU.
The images here are inspected in Python before qemu-img sees them (``nubes.core.disk_formats``),
so this is the second line: a run that hits a limit fails like any refused image. Only ``info``
is limited: ``convert`` of a large image legitimately needs more CPU time."""

from __future__ import annotations

import resource

ADDRESS_SPACE = 1024 ** 3
CPU_SECONDS = 30


def apply() -> None:
    """Set the limits in the child, before it runs qemu-img (a ``preexec_fn``: it only makes
    two system calls, so it is safe between fork and exec)."""
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
