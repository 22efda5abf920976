"""Block storage volumes in QEMU guests: hot-plug over QMP, on the command line, online extend.

A volume comes as block storage's connection info (``nubes/volume/drivers/base.py``,
"Connection info"); ``volume(connection)`` checks it and keeps only what the driver needs.
Each attached volume is a chain of two block nodes and one device, named after the volume:

- ``vp-<id>`` the protocol node: ``file`` (``data.path``) or ``nbd`` (``data.host``/``port``,
  ``export``);
- ``vf-<id>`` the format node on it: ``qcow2`` (which opens the file's own backing chain) or
  ``raw``; read-only when the connection says so;
- ``vd-<id>`` a ``virtio-blk-pci`` device on that node whose ``serial`` is the volume id, as
  Nova's libvirt driver sets it (the guest sees it in ``/sys/block/vdX/serial``, the first 20
  characters: ``/dev/disk/by-id/virtio-<id prefix>``).

``<id>`` is the volume id without dashes, cut to 20 characters (QEMU's node names are at most
31). The guest's ``state.json`` lists its volumes (``GuestState.volumes``), so a guest started
again (power on, a host reboot, a move) gets them on its command line (``blockdev_args``), and a
restarted agent knows what is plugged. ``attach`` saves the intent before plugging and forgets
it when the plug fails; ``detach`` unplugs (``device_del``, ``DEVICE_DELETED`` within
``unplug_timeout``, ``blockdev-del``) and only then forgets it; both are idempotent, and a
plug or unplug half done by an earlier try (an agent killed between two QMP commands) is
finished rather than failed.

Online extend is ``block_resize`` of the format node: a qcow2 or raw file grows through QEMU,
its only writer while attached. An NBD node cannot grow (the protocol fixes the size at
connect): the export grew on its server, so a second connection to it (which sees the new
size) replaces the first under the format node (``blockdev-reopen``), then ``block_resize``
tells the guest.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from nubes.compute.drivers.base import DriverError, PowerState, instance_id
from nubes.compute.drivers.qemu.qmp import QMPClosed, QMPError
from nubes.core.concurrency import run_blocking

TYPES = ("file", "nbd")
FORMATS = ("qcow2", "raw")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
UNPLUG_RETRY = 5.0
NBD_RECONNECT = 10      # seconds a lost NBD connection is retried before the guest sees I/O errors


def _short(volume_id: str) -> str:
    return volume_id.replace("-", "")[:20]


def names(volume_id: str) -> tuple[str, str, str]:
    """(protocol node, format node, device id) of a volume."""
    s = _short(volume_id)
    return f"vp-{s}", f"vf-{s}", f"vd-{s}"


def volume_id_of(connection: dict[str, Any]) -> str:
    data = connection.get("data") if isinstance(connection.get("data"), dict) else {}
    return str(connection.get("volume_id") or connection.get("serial") or data.get("volume_id") or "")


def connection_of(connection: Any) -> dict[str, Any]:
    """The part of a connection the driver keeps: ``{volume_id, driver_volume_type, data}``,
    checked; DriverError (not retryable) saying what is wrong."""
    if not isinstance(connection, dict):
        raise DriverError("The volume connection info is not an object.")
    vid = volume_id_of(connection)
    if not _SAFE_ID.match(vid):
        raise DriverError(f"The volume connection names no usable volume id ({vid!r}).")
    kind = connection.get("driver_volume_type")
    data = connection.get("data")
    if kind not in TYPES or not isinstance(data, dict):
        raise DriverError(f"The qemu driver cannot attach volume {vid}: it plugs volumes of type "
                          f"{' or '.join(TYPES)}, not {kind!r}.")
    fmt = str(data.get("format") or "raw")
    if fmt not in FORMATS or (kind == "nbd" and fmt != "raw"):
        raise DriverError(f"Volume {vid}: format {fmt!r} is not one the qemu driver opens over {kind}.")
    ro = bool(data.get("read_only") or data.get("access_mode") == "ro")
    # a volume other guests may have open at once (Nova sets connection_info's "multiattach"):
    # the disk shares write access, which only a raw image survives
    shared = bool(connection.get("multiattach") or data.get("multiattach"))
    if shared and fmt != "raw":
        raise DriverError(f"Volume {vid}: a multiattach volume must be raw, not {fmt!r}.")
    if kind == "file":
        path = data.get("path") or data.get("device_path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise DriverError(f"Volume {vid}: a file connection needs an absolute path.")
        kept = {"path": path, "format": fmt, "read_only": ro}
    else:
        host, port, export = data.get("host"), data.get("port"), data.get("export")
        try:
            port = int(port)
        except (TypeError, ValueError):
            port = 0
        if not isinstance(host, str) or not host or not 0 < port < 65536 or not isinstance(export, str):
            raise DriverError(f"Volume {vid}: an nbd connection needs host, port and export.")
        kept = {"host": host, "port": port, "export": export, "format": "raw", "read_only": ro}
    if shared:
        kept["multiattach"] = True
    return {"volume_id": vid, "driver_volume_type": kind, "data": kept}


def node_args(conn: dict[str, Any], *, suffix: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """``blockdev-add`` arguments of the protocol node and the format node of a kept connection."""
    proto, fmt_node, _ = names(conn["volume_id"])
    proto += suffix
    data, ro = conn["data"], bool(conn["data"]["read_only"])
    if conn["driver_volume_type"] == "file":
        p: dict[str, Any] = {"driver": "file", "node-name": proto, "filename": data["path"], "read-only": ro}
        if not ro:
            p["discard"] = "unmap"
    else:
        p = {"driver": "nbd", "node-name": proto, "export": data["export"], "read-only": ro,
             "reconnect-delay": NBD_RECONNECT,
             "server": {"type": "inet", "host": data["host"], "port": str(data["port"])}}
    f = {"driver": data["format"], "node-name": fmt_node, "file": proto, "read-only": ro}
    if not ro:
        f["discard"] = "unmap"
    return p, f


def device_args(conn: dict[str, Any], *, boot: bool = False) -> dict[str, Any]:
    _, fmt_node, dev = names(conn["volume_id"])
    d: dict[str, Any] = {"driver": "virtio-blk-pci", "id": dev, "drive": fmt_node, "serial": conn["volume_id"]}
    if conn["data"].get("multiattach"):
        d["share-rw"] = True
    if boot:
        d["bootindex"] = 1
    return d


def blockdev_args(volumes: list[dict[str, Any]], *, boot_first: bool) -> list[str]:
    """The command line of a guest's volumes; ``boot_first``: the boot volume gets bootindex 1."""
    import json

    out: list[str] = []
    for v in volumes:
        p, f = node_args(v["connection"])
        dev = device_args(v["connection"], boot=boot_first and v.get("boot_index") == 0)
        out += ["-blockdev", json.dumps(p), "-blockdev", json.dumps(f), "-device", json.dumps(dev)]
    return out


def boot_volume(volumes: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((v for v in volumes if v.get("boot_index") == 0), None)


class VolumeActions:
    """The compute driver contract's volume methods on ``QemuDriver`` (a mixin, as ``DeviceActions``)."""

    async def attach_volume(self, instance: dict, connection: dict, mountpoint: str) -> None:
        g = self._find(instance_id(instance))
        conn = connection_of(connection)
        vid = conn["volume_id"]
        async with g.lock:
            held = next((v for v in g.state.volumes if v["volume_id"] == vid), None)
            if held is not None:
                if await self._status(g) is not None:
                    await self._plug(g, held)              # finish a plug an earlier try left half done
                return
            if mountpoint and any(v.get("mountpoint") == mountpoint for v in g.state.volumes):
                other = next(v["volume_id"] for v in g.state.volumes if v.get("mountpoint") == mountpoint)
                raise DriverError(f"{mountpoint} of guest {g.id} already holds volume {other}.")
            if await self._power(g) == PowerState.SUSPENDED:
                raise DriverError(f"Cannot attach volume {vid} to guest {g.id} while it is suspended: "
                                  "resume it first.")
            if conn["driver_volume_type"] == "file" and not await run_blocking(_exists, conn["data"]["path"]):
                raise DriverError(f"Volume {vid}: {conn['data']['path']} does not exist on host {self.host}.")
            entry = {"volume_id": vid, "mountpoint": mountpoint or None, "connection": conn, "boot_index": None}
            g.state.volumes.append(entry)
            await g.save()
            if await self._status(g) is None:
                return                                      # a stopped guest: it gets it at its next start
            try:
                await self._plug(g, entry)
            except BaseException:
                g.state.volumes = [v for v in g.state.volumes if v is not entry]
                await g.save()
                raise

    async def detach_volume(self, instance: dict, connection: dict, mountpoint: str) -> None:
        g = self._find(instance_id(instance))
        vid = volume_id_of(connection or {})
        async with g.lock:
            found = [v for v in g.state.volumes
                     if (v["volume_id"] == vid if vid else mountpoint and v.get("mountpoint") == mountpoint)]
            if not found:
                if vid and _SAFE_ID.match(vid) and await self._status(g) is not None:
                    await self._unplug_volume(g, vid)       # an unplug an earlier try left half done
                return
            entry = found[0]
            if entry.get("boot_index") == 0:
                raise DriverError(f"Volume {entry['volume_id']} is the root disk of guest {g.id}; it cannot "
                                  "be detached.")
            if await self._power(g) == PowerState.SUSPENDED:
                raise DriverError(f"Cannot detach volume {entry['volume_id']} from guest {g.id} while it is "
                                  "suspended: resume it first.")
            if await self._status(g) is not None:
                await self._unplug_volume(g, entry["volume_id"])
            g.state.volumes = [v for v in g.state.volumes if v is not entry]
            await g.save()

    async def extend_volume(self, instance: dict, connection: dict, new_size_bytes: int) -> None:
        g = self._find(instance_id(instance))
        vid = volume_id_of(connection or {})
        size = int(new_size_bytes)
        async with g.lock:
            entry = next((v for v in g.state.volumes if v["volume_id"] == vid), None)
            if entry is None:
                raise DriverError(f"Volume {vid} is not attached to guest {g.id}.")
            if await self._status(g) is None:
                return          # a stopped guest: nothing holds the volume; its next start sees the size
            qmp = await self._monitor(g)
            _, fmt_node, _ = names(vid)
            conn = entry["connection"]
            try:
                node = next((n for n in await qmp.execute("query-named-block-nodes", {"flat": True}) or []
                             if n.get("node-name") == fmt_node), None)
                current = int(((node or {}).get("image") or {}).get("virtual-size") or 0)
                if size == current:
                    return                                  # extended already
                if size < current:
                    raise DriverError(f"Volume {vid} of guest {g.id} is {current} bytes: it cannot shrink to "
                                      f"{size}.")
                if conn["driver_volume_type"] == "nbd":
                    await self._reconnect_nbd(qmp, conn)
                await qmp.execute("block_resize", {"node-name": fmt_node, "size": size})
            except QMPError as e:
                raise DriverError(f"Extending volume {vid} of guest {g.id} to {size} bytes failed: {e.desc}",
                                  retryable=False) from None

    async def _reconnect_nbd(self, qmp: Any, conn: dict[str, Any]) -> None:
        """A new connection to the grown export replaces the old one under the format node."""
        proto, _, _ = names(conn["volume_id"])
        nodes = await _node_names(qmp)
        old = proto if proto in nodes else proto + "-b"
        new = proto + "-b" if old == proto else proto
        if new in nodes:
            await _quietly(qmp, "blockdev-del", {"node-name": new})
        p, f = node_args(conn)
        p["node-name"], f["file"] = new, new
        await qmp.execute("blockdev-add", p)
        try:
            await qmp.execute("blockdev-reopen", {"options": [f]})
        except QMPError:
            await _quietly(qmp, "blockdev-del", {"node-name": new})
            raise
        await qmp.execute("blockdev-del", {"node-name": old})

    # -- plugging ---------------------------------------------------------------------------
    async def _plug(self, g: Any, entry: dict[str, Any]) -> None:
        """``blockdev-add`` both nodes and ``device_add`` the disk, each only if not there yet."""
        conn = entry["connection"]
        vid = conn["volume_id"]
        p, f = node_args(conn)
        dev = device_args(conn)
        qmp = await self._monitor(g)
        try:
            nodes = await _node_names(qmp)
            if f["node-name"] not in nodes and not {p["node-name"], p["node-name"] + "-b"} & nodes:
                await qmp.execute("blockdev-add", p)
            if f["node-name"] not in nodes:
                try:
                    await qmp.execute("blockdev-add", f)
                except QMPError:
                    await _quietly(qmp, "blockdev-del", {"node-name": p["node-name"]})
                    raise
            if dev["id"] not in await _devices(qmp):
                try:
                    await qmp.execute("device_add", dev)
                except QMPError:
                    await _quietly(qmp, "blockdev-del", {"node-name": f["node-name"]})
                    await _quietly(qmp, "blockdev-del", {"node-name": p["node-name"]})
                    raise
        except QMPError as e:
            raise DriverError(f"Attaching volume {vid} to guest {g.id} failed: {e.desc}",
                              retryable=False) from None
        except QMPClosed as e:
            raise DriverError(f"Attaching volume {vid} to guest {g.id} failed: {e}", retryable=True) from None

    async def _unplug_volume(self, g: Any, vid: str) -> None:
        """``device_del`` until the guest lets the disk go (``DEVICE_DELETED``, repeated every
        ``UNPLUG_RETRY`` within ``unplug_timeout``), then ``blockdev-del`` of its nodes."""
        proto, fmt_node, dev = names(vid)
        qmp = await self._monitor(g)
        try:
            if dev in await _devices(qmp):
                qmp.take_events("DEVICE_DELETED")
                loop = asyncio.get_running_loop()
                deadline = loop.time() + self.unplug_timeout
                while True:
                    try:
                        await qmp.execute("device_del", {"id": dev})
                    except QMPError as e:
                        if e.klass == "DeviceNotFound":
                            break
                        if "in the process of unplug" not in e.desc:
                            raise
                    wait = min(UNPLUG_RETRY, max(deadline - loop.time(), 0.0))
                    if await qmp.wait_event("DEVICE_DELETED", wait, match=lambda d: d.get("device") == dev):
                        break
                    if loop.time() >= deadline:
                        raise DriverError(f"Guest {g.id} did not release volume {vid} within "
                                          f"{self.unplug_timeout:g}s.", retryable=True)
            if fmt_node in await _node_names(qmp):
                await qmp.execute("blockdev-del", {"node-name": fmt_node})
            nodes = await _node_names(qmp)
            for name in (proto, proto + "-b"):
                if name in nodes:
                    await qmp.execute("blockdev-del", {"node-name": name})
        except QMPError as e:
            raise DriverError(f"Detaching volume {vid} from guest {g.id} failed: {e.desc}",
                              retryable=True) from None
        except QMPClosed as e:
            raise DriverError(f"Detaching volume {vid} from guest {g.id} failed: {e}", retryable=True) from None

    async def _reconcile_volumes(self, g: Any) -> None:
        """A running guest found again (``init_host``): plug the volumes its state lists and QEMU
        lacks, unplug the ones QEMU has and its state no longer lists (work a killed agent left)."""
        qmp = await self._monitor(g)
        wanted = {names(v["volume_id"])[2]: v for v in g.state.volumes}
        for entry in wanted.values():
            await self._plug(g, entry)
        for dev in await _devices(qmp):
            if dev.startswith("vd-") and dev not in wanted:
                await self._unplug_volume(g, dev[3:])     # names(<short id>) are the volume's names


def _exists(path: str) -> bool:
    import os

    return os.path.exists(path)


async def _quietly(qmp: Any, command: str, args: dict[str, Any]) -> None:
    try:
        await qmp.execute(command, args)
    except QMPError:
        pass


async def _node_names(qmp: Any) -> set[str]:
    return {n.get("node-name") for n in await qmp.execute("query-named-block-nodes", {"flat": True}) or []}


async def _devices(qmp: Any) -> set[str]:
    return {c.get("name") for c in await qmp.execute("qom-list", {"path": "/machine/peripheral"}) or []}
