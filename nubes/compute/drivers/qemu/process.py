"""One QEMU process per guest: its command line, starting it, finding it again, ending it.

QEMU runs ``-daemonize``d: the command returns once QEMU has opened everything (disks,
taps, kernel, the QMP socket) and the guest runs, or fails with QEMU's own error on stderr
(kept in ``qemu.log``). The daemon is in a session of its own, so it outlives the agent;
``qemu.pid`` and ``qmp.sock`` in the instance's directory let a restarted agent find it.
The command line is kept in ``cmdline.json`` (for people and for power on after a reboot).

The serial console is a TCP server chardev on ``console_listen`` (a port the kernel picks; the
serial console proxy connects to it) that also writes everything the guest prints to
``console.log`` (``logfile=``, ``logappend=on``), so the log accumulates across power cycles
whether or not anyone is connected; it is cut to its last ``CONSOLE_KEEP`` bytes before each
start. A standard VGA card shows the guest's screen (``tty0``) through QEMU's own VNC server,
also on ``console_listen``, on the first free display from 5900 up; ``query-vnc`` and
``query-chardev`` tell the ports (``get_console``).

Disks are virtio-blk (root, ephemeral, swap, then the config drive read-only, then the
attached volumes as ``-blockdev`` chains: ``volumes``; a root volume comes first); NICs
virtio-net-pci on ``-netdev tap`` with the port's MAC (and MTU as ``host_mtu``), on the
``pc`` machine, whose root bus has ACPI PCI hot-plug for ``attach_interface``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

from nubes.compute.drivers.base import SpawnFailed
from nubes.compute.drivers.qemu.configdrive import tap_name
from nubes.compute.drivers.qemu.volumes import blockdev_args
from nubes.core.concurrency import run_blocking

CONSOLE_KEEP = 1024 * 1024


def short_id(port_id: str) -> str:
    return str(port_id)[:11]


def netdev_args(vif: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(netdev_add, device_add) arguments of a VIF, as on the command line."""
    sid = short_id(vif["id"])
    netdev = {"type": "tap", "id": f"hostnet-{sid}", "ifname": tap_name(str(vif["id"])),
              "script": "no", "downscript": "no"}
    device = {"driver": "virtio-net-pci", "id": f"net-{sid}", "netdev": f"hostnet-{sid}",
              "mac": vif["address"]}
    if vif.get("mtu"):
        device["host_mtu"] = int(vif["mtu"])
    return netdev, device


def _opts(head: str, d: dict[str, Any], skip: str) -> str:
    return ",".join([head, *(f"{k}={v}" for k, v in d.items() if k != skip)])


# VNC displays QEMU may take: 5900 + 0 ... 65535.
VNC_DISPLAYS = 65535 - 5900


def command(qemu: str, g: Any, d: Path, accel: Any, *, qmp_path: str, incoming: str | None = None,
            console_listen: str = "127.0.0.1") -> list[str]:
    """The QEMU command line of guest state ``g`` living in directory ``d``."""
    boot = g.rescue or {"kernel": g.kernel, "initrd": g.initrd, "cmdline": g.cmdline}
    cmd = [qemu, "-name", f"guest={g.id},debug-threads=on", "-uuid", g.id,
           "-machine", f"pc,accel={accel.name}", "-smp", str(g.vcpus), "-m", str(g.memory_mb),
           "-nodefaults", "-no-user-config", "-display", "none", "-msg", "timestamp=on",
           "-daemonize", "-pidfile", str(d / "qemu.pid"),
           "-chardev", f"socket,id=qmp,path={qmp_path},server=on,wait=off", "-mon", "chardev=qmp,mode=control",
           "-chardev", (f"socket,id=console,host={console_listen},port=0,server=on,wait=off,telnet=off,"
                        f"logfile={d / 'console.log'},logappend=on"), "-serial", "chardev:console",
           "-device", "VGA,id=video0", "-vnc", f"{_vnc_host(console_listen)}:0,to={VNC_DISPLAYS}"]
    if accel.cpu:
        cmd += ["-cpu", accel.cpu]
    if boot.get("kernel"):
        cmd += ["-kernel", boot["kernel"]]
        if boot.get("initrd"):
            cmd += ["-initrd", boot["initrd"]]
        if boot.get("cmdline"):
            cmd += ["-append", boot["cmdline"]]
    volumes = list(getattr(g, "volumes", None) or [])
    boot_volume = bool(volumes) and volumes[0].get("boot_index") == 0
    disks = []
    if g.rescue:
        disks.append(("disk.rescue", "qcow2", False))
    if not boot_volume:
        disks.append(("disk", "qcow2", False))
    if g.ephemeral_gb:
        disks.append(("disk.eph0", "qcow2", False))
    if g.swap_mb:
        disks.append(("disk.swap", "qcow2", False))
    if g.config_drive:
        disks.append(("disk.config", "raw", True))
    for i, (name, fmt, ro) in enumerate(disks):
        drive = f"file={d / name},format={fmt},if=none,id=drive-{i},discard=unmap"
        if ro:
            drive += ",readonly=on"
        cmd += ["-drive", drive, "-device", f"virtio-blk-pci,drive=drive-{i},id=disk-{i}"
                + (",bootindex=1" if i == 0 else "")]
    if boot_volume and not g.rescue:        # the root volume first, the disk booted from
        cmd += blockdev_args(volumes[:1], boot_first=True)
        volumes = volumes[1:]
    cmd += blockdev_args(volumes, boot_first=False)
    for vif in g.vifs:
        netdev, device = netdev_args(vif)
        cmd += ["-netdev", _opts("tap", netdev, "type"), "-device", _opts("virtio-net-pci", device, "driver")]
    if incoming:
        cmd += ["-incoming", incoming]
    return cmd


def _vnc_host(listen: str) -> str:
    return f"[{listen}]" if ":" in listen else listen


def chardev_port(filename: str) -> int | None:
    """The port of a TCP chardev from ``query-chardev``'s ``filename``
    (``disconnected:tcp:127.0.0.1:40123,server=on``, or ``tcp:...,server=on <-> peer`` when connected)."""
    _, found, rest = filename.partition("tcp:")
    if not found:
        return None
    _host, _, port = rest.split(",", 1)[0].split(" ", 1)[0].rpartition(":")
    return int(port) if port.isdigit() else None


def pid_of(d: Path) -> int | None:
    try:
        return int((d / "qemu.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int | None, guest_id: str) -> bool:
    """Whether ``pid`` is a live QEMU of guest ``guest_id`` (not a reused pid, not a zombie)."""
    if not pid:
        return False
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and f"guest={guest_id},".encode() in raw


def trim_console(path: Path, keep: int = CONSOLE_KEEP) -> None:
    try:
        size = path.stat().st_size
    except OSError:
        return
    if size <= keep:
        return
    with open(path, "rb") as fh:
        fh.seek(size - keep)
        tail = fh.read()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(tail)
    os.replace(tmp, path)


async def start(cmd: list[str], d: Path, guest_id: str, *, pass_fds: tuple[int, ...] = (),
                timeout: float = 60.0) -> int:
    """Start the daemonized QEMU; its pid. SpawnFailed with QEMU's stderr if it refuses."""
    await run_blocking(trim_console, d / "console.log")
    await run_blocking((d / "qemu.pid").unlink, missing_ok=True)
    await run_blocking((d / "cmdline.json").write_text, json.dumps(cmd, indent=1))
    log = await run_blocking(open, d / "qemu.log", "ab")
    try:
        proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.DEVNULL, stdout=log,
                                                    stderr=asyncio.subprocess.PIPE, pass_fds=pass_fds,
                                                    start_new_session=True)
        try:
            _out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise SpawnFailed(f"QEMU did not start guest {guest_id} within {timeout:g}s.") from None
        text = err.decode(errors="replace").strip()
        if text:
            await run_blocking(log.write, err)
    finally:
        await run_blocking(log.close)
    if proc.returncode != 0:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        raise SpawnFailed("QEMU failed to start the guest: " + ("; ".join(lines[-5:]) or
                                                                f"exit status {proc.returncode}"),
                          retryable=False)
    pid = await run_blocking(pid_of, d)
    if not await run_blocking(alive, pid, guest_id):
        raise SpawnFailed(f"QEMU exited right after starting guest {guest_id}: {text or 'no message'}",
                          retryable=False)
    assert pid is not None
    return pid


async def kill(pid: int | None, guest_id: str, timeout: float = 10.0) -> None:
    """SIGKILL the guest's QEMU and wait until it is gone."""
    if not await run_blocking(alive, pid, guest_id):
        return
    assert pid is not None
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    await wait_gone(pid, guest_id, timeout)


async def wait_gone(pid: int | None, guest_id: str, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await run_blocking(alive, pid, guest_id):
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def cpu_time_ns(pid: int | None) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])          # utime + stime
        return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0


def thread_cpu_ns(pid: int | None, tid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0


def started_seconds_ago(pid: int | None) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        start = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        up = float(Path("/proc/uptime").read_text().split()[0])
        return max(int(up - start), 0)
    except (OSError, IndexError, ValueError):
        return 0


def rss_mb(pid: int | None) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 0
