"""NBD exports of the file backend: one ``qemu-storage-daemon`` per attachment.

The daemon opens the volume's active file (its backing chain with it), serves it as a raw NBD
export on ``export_ip:port`` and answers QMP on a unix socket (in a short directory of the pool's own). It is started with ``--daemonize``, so it outlives the manager; its pid, port,
socket and top node are kept in the export's record, and a restarted driver finds it again
by checking the pid still runs a storage daemon on that socket."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

from nubes.volume.drivers.base import VolumeDriverError
from nubes.volume.drivers.file_chain import summarise

EXPORT_ID = "exp0"


class QMPError(VolumeDriverError):
    pass


async def qmp(socket_path: Path, command: str, arguments: dict | None = None,
              timeout: float = 30.0) -> Any:
    """One QMP command on the daemon's monitor; its ``return`` value."""
    async def talk() -> Any:
        reader, writer = await asyncio.open_unix_connection(str(socket_path))
        try:
            async def reply() -> dict:
                while True:
                    line = await reader.readline()
                    if not line:
                        raise QMPError(f"the storage daemon on {socket_path.name} closed its monitor")
                    msg = json.loads(line)
                    if "return" in msg or "error" in msg:
                        return msg
            await reader.readline()                      # greeting
            writer.write(b'{"execute": "qmp_capabilities"}\n')
            await reply()
            body: dict[str, Any] = {"execute": command}
            if arguments:
                body["arguments"] = arguments
            writer.write(json.dumps(body).encode() + b"\n")
            await writer.drain()
            msg = await reply()
            if "error" in msg:
                raise QMPError(f"storage daemon: {command}: {msg['error'].get('desc', msg['error'])}")
            return msg["return"]
        finally:
            writer.close()
    try:
        return await asyncio.wait_for(talk(), timeout)
    except (OSError, asyncio.TimeoutError, ValueError) as err:
        raise QMPError(f"storage daemon monitor {socket_path.name}: {command}: {err or 'timed out'}") from err


def alive(record: dict) -> bool:
    """Whether the record's pid is still the storage daemon on the record's socket."""
    try:
        cmdline = Path(f"/proc/{int(record['pid'])}/cmdline").read_bytes().split(b"\0")
    except (OSError, KeyError, ValueError):
        return False
    return bool(cmdline) and cmdline[0].endswith(b"qemu-storage-daemon") and \
        any(record["socket"].encode() in arg for arg in cmdline)


def daemons_under(directory: Path) -> dict[int, str]:
    """pid -> monitor socket of every storage daemon whose socket is in ``directory``."""
    out = {}
    prefix = f"socket,id=mon,path={directory}/".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not args or not args[0].endswith(b"qemu-storage-daemon"):
            continue
        for arg in args:
            if arg.startswith(prefix):
                out[int(proc.name)] = arg[len(b"socket,id=mon,path="):].split(b",")[0].decode()
    return out


def port_in_use(host: str, port: int) -> bool:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


async def start_daemon(*, image: Path, fmt: str, node: str, export_name: str, host: str,
                       ports: range, taken: set[int], socket_path: Path, pidfile: Path,
                       logfile: Path, writable: bool) -> tuple[int, int]:
    """Start a daemon serving ``image``; (pid, port). Tries free ports of ``ports`` in order."""
    last = "no port free in the range"
    for port in ports:
        if port in taken or port_in_use(host, port):
            continue
        socket_path.unlink(missing_ok=True)
        pidfile.unlink(missing_ok=True)
        argv = [
            "qemu-storage-daemon",
            "--blockdev", f"driver=file,node-name={node}-file,filename={image}",
            "--blockdev", f"driver={fmt},node-name={node},file={node}-file",
            "--nbd-server", f"addr.type=inet,addr.host={host},addr.port={port}",
            "--export", f"type=nbd,id={EXPORT_ID},node-name={node},name={export_name},"
                        f"writable={'on' if writable else 'off'}",
            "--chardev", f"socket,id=mon,path={socket_path},server=on,wait=off",
            "--monitor", "chardev=mon",
            "--pidfile", str(pidfile), "--daemonize"]
        try:
            with open(logfile, "ab") as log:
                proc = await asyncio.create_subprocess_exec(
                    *argv, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.PIPE,
                    start_new_session=True)
                _out, err = await proc.communicate()
        except OSError as e:
            raise VolumeDriverError(f"cannot start the NBD export of {image.name}: "
                                    f"qemu-storage-daemon: {e}") from e
        if proc.returncode == 0:
            return int(pidfile.read_text().strip()), port
        last = summarise(err)
        if "Address already in use" not in last:
            break
    raise VolumeDriverError(f"cannot start the NBD export of {image.name}: {last}")


async def stop_daemon(record: dict) -> None:
    if not alive(record):
        return
    pid = int(record["pid"])
    try:
        await qmp(Path(record["socket"]), "quit", timeout=5)
    except QMPError:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    for _ in range(100):
        if not alive(record):
            return
        await asyncio.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def resize_export(record: dict, size_bytes: int) -> None:
    """Drop the export, grow the served node, add the export again: QEMU 7.2 fixes an export's
    size when it is added and the export does not share the resize permission. NBD clients
    reconnect (reconnect-delay) to the same name."""
    sock = Path(record["socket"])
    await qmp(sock, "block-export-del", {"id": EXPORT_ID, "mode": "hard"})
    for _ in range(200):
        if not any(e.get("id") == EXPORT_ID for e in await qmp(sock, "query-block-exports")):
            break
        await asyncio.sleep(0.05)
    else:
        raise VolumeDriverError("the storage daemon did not drop its export for the resize")
    try:
        await qmp(sock, "block_resize", {"node-name": record["node"], "size": size_bytes})
    finally:
        await qmp(sock, "block-export-add", {"type": "nbd", "id": EXPORT_ID, "node-name": record["node"],
                                             "name": record["export"], "writable": record["writable"]})


async def live_snapshot(record: dict, overlay: Path, new_node: str) -> None:
    """Make the daemon write to ``overlay`` (already created on the current top file) from now on.

    The overlay is added as a monitor-owned node (blockdev-add) rather than through
    blockdev-snapshot-sync, whose nodes belong to their parents only and would be closed when
    the export is re-created for a resize."""
    sock = Path(record["socket"])
    await qmp(sock, "blockdev-add", {"driver": "qcow2", "node-name": new_node, "backing": None,
                                     "file": {"driver": "file", "filename": str(overlay)}})
    try:
        await qmp(sock, "blockdev-snapshot", {"node": record["node"], "overlay": new_node})
    except QMPError:
        await qmp(sock, "blockdev-del", {"node-name": new_node})
        raise
