"""The machine the qemu driver runs on: whether it can run guests, which accelerator works,
and what it offers (CPUs, memory, disk, uptime).

``usable()`` says whether this host can run QEMU guests at all (root, ``/dev/net/tun``,
``qemu-system-x86_64`` and ``qemu-img``). ``accelerator(state_dir)`` decides between KVM
and TCG by a bounded probe boot: ``/dev/kvm`` existing is not enough (nested KVM can abort
on an MSR or hang with no output), so the host's kernel is booted with ``-accel kvm`` and no
root file system, and KVM is used only if it reaches its panic and QEMU exits within a few
seconds. The answer is kept in ``<state_dir>/compute/accel.json`` for this boot of the
machine and this QEMU (a reboot or an upgrade probes again), remembered by the process (so
several drivers of one process probe once) and logged once.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

QEMU = "qemu-system-x86_64"
QEMU_IMG = "qemu-img"
PROBE_TIMEOUT = 8.0
_DECIDED: dict[tuple[str, str, str], Accel] = {}      # (qemu, its version, boot id) -> the answer


def usable() -> tuple[bool, str]:
    """(True, "") when this host can run QEMU guests, else (False, why not)."""
    if os.geteuid() != 0:
        return False, "the qemu driver needs root (tap devices, /dev/net/tun)"
    if not os.path.exists("/dev/net/tun"):
        return False, "/dev/net/tun is missing (tun module not loaded?)"
    for tool in (QEMU, QEMU_IMG):
        if shutil.which(tool) is None:
            return False, f"{tool} is not installed (apt-get install qemu-system-x86 qemu-utils)"
    if shutil.which("ip") is None:
        return False, "the ip command is missing (apt-get install iproute2)"
    return True, ""


@dataclass(frozen=True)
class Accel:
    name: str                     # "kvm" or "tcg"
    cpu: str | None               # -cpu model (None: QEMU's default)
    reason: str                   # why, for the log and the docs
    boot_id: str = ""
    qemu_version: str = ""


def qemu_version(qemu: str = QEMU) -> str:
    out = subprocess.run([qemu, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    first = out.splitlines()[0] if out else ""
    return first.split("version", 1)[-1].strip().split()[0] if "version" in first else ""


def version_number(version: str) -> int:
    """QEMU's version as Nova reports hypervisor versions: 7.2.22 -> 7002022."""
    parts = [int(p) for p in version.split("+")[0].split(".")[:3] if p.isdigit()] + [0, 0, 0]
    return parts[0] * 1_000_000 + parts[1] * 1000 + parts[2]


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _probe_kernel() -> str | None:
    found = sorted(glob.glob("/boot/vmlinuz-*"))
    return found[-1] if found else None


def _probe(qemu: str, kernel: str, cpu: str | None, timeout: float) -> tuple[bool, str]:
    """Boot ``kernel`` under KVM with no root file system: it panics and, with -no-reboot,
    QEMU exits. True only if that happens within ``timeout`` with the kernel's output."""
    with tempfile.TemporaryDirectory(prefix="nubes-kvm-probe-") as tmp:
        console = Path(tmp) / "console"
        cmd = [qemu, "-accel", "kvm", "-m", "128", "-display", "none", "-nodefaults", "-no-user-config",
               "-no-reboot", "-serial", f"file:{console}", "-kernel", kernel,
               "-append", "console=ttyS0 panic=-1 loglevel=3"]
        if cpu:
            cmd[3:3] = ["-cpu", cpu]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return False, "probe timed out"
        text = console.read_text(errors="replace") if console.exists() else ""
        if res.returncode != 0:
            err = (res.stderr.strip().splitlines() or [f"exit status {res.returncode}"])[0]
            return False, f"probe failed: {err}"
        if "Kernel panic" not in text and "Linux version" not in text:
            return False, "probe booted no kernel"
        return True, "probe booted"


def decide(qemu: str = QEMU, timeout: float = PROBE_TIMEOUT) -> Accel:
    version = qemu_version(qemu)
    boot = _boot_id()
    if not os.path.exists("/dev/kvm"):
        return Accel("tcg", None, "no /dev/kvm", boot, version)
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return Accel("tcg", None, "/dev/kvm is not accessible", boot, version)
    kernel = _probe_kernel()
    if kernel is None:
        return Accel("tcg", None, "no kernel in /boot to probe KVM with", boot, version)
    reason = ""
    for cpu in ("host", None):
        ok, reason = _probe(qemu, kernel, cpu, timeout)
        if ok:
            return Accel("kvm", cpu, f"{reason} with -cpu {cpu or 'default'}", boot, version)
        if reason == "probe timed out":
            break                      # a hang will not get better with another model
    return Accel("tcg", None, reason, boot, version)


def accelerator(state_dir: Path, qemu: str = QEMU, *, forced: str | None = None) -> Accel:
    """The accelerator for this host: ``forced`` ("kvm"/"tcg"), else the cached probe's answer."""
    if forced:
        return Accel(forced, "host" if forced == "kvm" else None, "configured")
    cache = state_dir / "compute" / "accel.json"
    version, boot = qemu_version(qemu), _boot_id()
    accel = None
    try:
        known = Accel(**json.loads(cache.read_text()))
        if known.boot_id == boot and known.qemu_version == version:
            accel = known
    except (OSError, ValueError, TypeError):
        pass
    if accel is None:
        accel = _DECIDED.get((qemu, version, boot))
    if accel is None:
        accel = decide(qemu)
        if accel.name == "kvm":
            LOG.info("KVM works here (%s): using KVM", accel.reason)
        else:
            LOG.warning("KVM unusable here (%s): using TCG", accel.reason)
    _DECIDED[(qemu, version, boot)] = accel
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(accel)))
    os.replace(tmp, cache)
    return accel


# -- what the host offers -------------------------------------------------------------------------
def cpu_info() -> dict[str, Any]:
    model, vendor, flags = "unknown", "unknown", []
    sockets, cores = set(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (p.strip() for p in line.partition(":"))
            if key == "model name":
                model = value
            elif key == "vendor_id":
                vendor = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}.get(value, value)
            elif key == "flags" and not flags:
                flags = sorted(value.split())
            elif key == "physical id":
                sockets.add(value)
            elif key == "core id":
                cores.add(value)
    except OSError:
        pass
    n = os.cpu_count() or 1
    n_sockets = max(len(sockets), 1)
    n_cores = max(len(cores), 1)
    return {"arch": os.uname().machine, "model": model, "vendor": vendor, "features": flags,
            "topology": {"sockets": n_sockets, "cores": n_cores, "threads": max(n // (n_sockets * n_cores), 1)}}


def memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 0


def disk_gb(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return int(shutil.disk_usage(path).total // (1024 ** 3))


def host_ip() -> str:
    """The first global IPv4 address of the host (no packet is sent), else 127.0.0.1."""
    try:
        import psutil

        for name, addrs in sorted(psutil.net_if_addrs().items()):
            if name == "lo" or name.startswith(("tap", "veth", "br", "nb")):
                continue
            for a in addrs:
                if a.family == socket.AF_INET and not a.address.startswith("127."):
                    return a.address
    except Exception:               # psutil missing or the interfaces unreadable: loopback
        pass
    return "127.0.0.1"


def uptime_line() -> str:
    """The host's ``uptime`` line, as Nova's os-hypervisors uptime shows it."""
    up = float(Path("/proc/uptime").read_text().split()[0])
    days, rest = divmod(int(up), 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    try:
        import psutil

        users = len(psutil.users())
    except Exception:
        users = 0
    load = os.getloadavg()
    since = f"{days} day{'s' if days != 1 else ''}, {hours:2d}:{minutes:02d}" if days else f"{hours:2d}:{minutes:02d}"
    return (f" {time.strftime('%H:%M:%S')} up {since},  {users} user{'s' if users != 1 else ''},  "
            f"load average: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}")
