"""The all-in-one cluster: device directories, the three rings made on first start, the rings
loaded for the proxy, and the storage servers' apps (served on their own ports).

A cluster of many nodes copies its ring files (made with ``nubes ring``) to every node's
``rings`` directory; the all-in-one makes its own once, with every device on this host."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from nubes.object.ring import RING_NAMES, Ring
from nubes.object.ring.builder import RingBuilder
from nubes.object.ring.device import NewDevice

LOG = logging.getLogger(__name__)
PORT_KEYS = {"account": "account_port", "container": "container_port", "object": "object_port"}


def ensure_devices(conf: Any, state_dir: Path) -> list[str]:
    root = conf.devices_root(state_dir)
    names = [f"d{i}" for i in range(1, conf.device_count + 1)]
    for name in names:
        (root / name).mkdir(parents=True, exist_ok=True)
    return names


def ensure_rings(conf: Any, state_dir: Path) -> Path:
    """Build and write each missing ring (every device of this host, one zone each)."""
    rings = conf.rings_dir(state_dir)
    rings.mkdir(parents=True, exist_ok=True)
    devices = ensure_devices(conf, state_dir)
    for kind in RING_NAMES:
        path = rings / f"{kind}.ring.gz"
        port = int(getattr(conf, PORT_KEYS[kind]))
        if path.exists():
            _follow_port(rings / f"{kind}.builder", path, conf.storage_ip, port, set(devices))
            continue
        if not port:
            raise RuntimeError(f"no {kind} ring at {path} and no {kind} server here to build one "
                               f"for ([object] {PORT_KEYS[kind]} = 0)")
        builder = RingBuilder(conf.part_power, min(conf.replicas, len(devices)), 1)
        for zone, name in enumerate(devices, start=1):
            builder.add_device(NewDevice(region=1, zone=zone, ip=conf.storage_ip, port=port,
                                         device=name, weight=100.0))
        builder.rebalance()
        builder.save(rings / f"{kind}.builder")
        builder.write_ring(path)
        LOG.info("object storage: made the %s ring (%d devices, %d replicas, part power %d)",
                 kind, len(devices), builder.replicas, conf.part_power)
    return rings


def _follow_port(builder_path: Path, ring_path: Path, ip: str, port: int, local: set[str]) -> None:
    """A ring the all-in-one made (every device on this node's address and one port) follows a
    change of that server's port in the configuration: the devices get the new port, no
    partition moves. Rings of any other shape are the operator's and are left alone."""
    if not port or not builder_path.exists():
        return
    builder = RingBuilder.load(builder_path)
    devs = [d for d in builder.devs if d is not None]
    if not devs or any(d.ip != ip or d.device not in local for d in devs) or len({d.port for d in devs}) != 1 \
            or devs[0].port == port:
        return
    old = devs[0].port
    for dev in devs:
        if dev.replication_port == dev.port:
            dev.replication_port = port
        dev.port = port
    builder.version += 1
    builder.save(builder_path)
    builder.write_ring(ring_path)
    LOG.warning("object storage: the %s ring's devices moved from port %d to %d (the configured "
                "port); no partition moved", ring_path.name.split(".")[0], old, port)


def load_rings(conf: Any, state_dir: Path) -> dict[str, Ring]:
    rings = conf.rings_dir(state_dir)
    return {kind: Ring.load(rings / f"{kind}.ring.gz", conf.hash_secret()) for kind in RING_NAMES}


def storage_app(kind: str, conf: Any, state_dir: Path) -> Any:
    from nubes.object.server.account_server import AccountServer
    from nubes.object.server.container_server import ContainerServer
    from nubes.object.server.object_server import ObjectServer

    server = {"account": AccountServer, "container": ContainerServer, "object": ObjectServer}[kind]
    return server.from_config(conf, state_dir).app()
