"""The ``qemu`` compute driver: one QEMU process per guest, managed over QMP.

``QemuDriver(host, conf, *, state_dir, clients=None, images=None, ...)`` runs the guests of
``host``. Files live under ``<state_dir>/compute/``: ``images/`` (base images, kernels and
ramdisks from the image service, fetched once and shared), ``instances/<id>/`` (one guest's
disks, config drive, console log, QMP socket, pid file and command line: ``guest``),
``snapshots/`` (snapshots on their way to the image service) and ``accel.json`` (the KVM
probe's answer: ``host``).

Options: ``clients`` (the agent's ``ServiceClients``: images come from the image service) or
``images`` (any ``images.ImageSource``); ``accel`` ("kvm"/"tcg": skip the probe); ``vcpus``,
``memory_mb``, ``disk_gb`` (what the host offers instead of its real sizes);
``shutdown_timeout`` / ``shutdown_retry`` (the ACPI power button's wait and repeat);
``boot_timeout``, ``boot_settle`` (how long a new guest must keep running to count as
spawned); ``unplug_timeout``; ``force_config_drive``; ``max_virtual_size`` and
``vmdk_allowed_types`` (which images it refuses: ``inspection.py``).

``host.usable()`` tells whether this machine can run it; ``docs/qemu.md`` describes
the whole, with its limits.
"""

from nubes.compute.drivers.qemu.driver import QemuDriver
from nubes.compute.drivers.qemu.host import usable

__all__ = ["QemuDriver", "driver_options", "usable"]


def driver_options(rt, host: str) -> dict:
    """The keyword arguments an agent runner gives ``make_driver("qemu", ...)``."""
    return {"state_dir": rt.conf.core.state_dir, "clients": rt.clients}
