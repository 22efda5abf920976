"""The test guest: a Debian kernel and a busybox initramfs, built here from Debian packages.

Nothing is downloaded from elsewhere: ``linux-image-cloud-amd64`` gives the kernel and its
virtio modules, ``busybox-static`` the userland. The guest's ``/init``:

1. loads the virtio modules (network, block, and isofs for a config drive) in dependency order,
   and ``button`` + ``evdev`` so that acpid sees the ACPI power button (clean power off);
2. takes an address on ``eth0`` with udhcpc (the script applies address, routes and DNS);
3. reads its metadata from the config drive when one is attached (label ``config-2``), else from
   http://169.254.169.254 (``openstack/latest/meta_data.json``, ``user_data``);
4. reports its virtio disks on the console every time they change (``nubes-guest: disks vda,<bytes>,
   <serial> vdb,...``, checked every second) and, for a disk new or resized, reads and writes data on
   it by a tiny protocol (``diskwatch`` in ``INIT``: a test proves a volume's data is kept);
5. prints what it got on the serial console, one ``nubes-guest:`` line each (so a test or the
   benchmark can wait for ``nubes-guest: ready``), writes it to the web root; user data that is
   a script (``#!``) runs once, bounded to 30 s, and its exit status and first output are printed
   (``user-data-ran <status> <output>``);
6. answers HTTP on port 80 (busybox httpd, the metadata it read) and TCP 22 (a banner), and
   powers off when the ACPI power button is pressed;
7. runs a getty on the serial console, as a cloud image does (``<hostname> login:``; any name
   gets a root shell: the guest is for tests only).

The kernel command line the image carries (``os_command_line``) puts the console on ttyS0.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from nubes.compute.guest.initramfs import Entry, archive

PACKAGES = ("linux-image-cloud-amd64", "busybox-static")
MODULES = ("virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci",
           "failover", "net_failover", "virtio_net", "virtio_blk", "cdrom", "isofs", "button", "evdev")
COMMAND_LINE = "console=ttyS0 panic=-1 quiet"
MARKER = "nubes-guest:"

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp /run /mnt /www /etc
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in MODULES; do insmod /lib/modules/$m.ko 2>/dev/null; done
say() { echo "MARKER $*" > /dev/console; }
# every second: the virtio disks as "name,bytes,serial"; a change is printed, and a disk new or
# resized is read: sector 8 holding "nubes-data ..." is printed; a first sector holding
# "nubes-cmd write TOKEN" (and sector 8 nothing yet) makes the guest write sector 8 first
diskwatch() {
  last=""
  while true; do
    now=""
    for b in /sys/block/vd*; do
      [ -e "$b/size" ] || continue
      n=${b##*/}; read s < "$b/size"; ser=$(cat "$b/serial" 2>/dev/null)
      now="$now $n,$((s * 512)),${ser:--}"
    done
    if [ "$now" != "$last" ]; then
      say "disks${now:- none}"
      for d in $now; do
        case " $last " in *" $d "*) continue ;; esac
        n=${d%%,*}
        data=$(dd if=/dev/$n bs=512 skip=8 count=1 2>/dev/null | tr -d '\000' | head -n 1)
        cmd=$(head -c 128 /dev/$n 2>/dev/null | tr -d '\000' | head -n 1)
        case "$data" in nubes-data\ *) ;; *) data="" ;; esac
        case "$cmd" in
          "nubes-cmd write "*)
            if [ -z "$data" ]; then
              data="nubes-data ${cmd#nubes-cmd write } by $(hostname)"
              if printf '%s\n' "$data" | dd of=/dev/$n bs=512 seek=8 count=1 conv=sync,notrunc,fsync 2>/dev/null
              then say "disk-wrote $n $data"; else say "disk-write-failed $n"; data=""; fi
            fi ;;
        esac
        [ -n "$data" ] && say "disk-data $n $data"
      done
      last="$now"
    fi
    sleep 1
  done
}
say "booted $(uname -r)"
diskwatch &
acpid -c /etc/acpi -l /dev/null -p /run/acpid.pid
ip link set lo up
ifc=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
if [ -n "$ifc" ]; then
  ip link set "$ifc" up
  say "link $ifc $(cat /sys/class/net/$ifc/address)"
  if udhcpc -i "$ifc" -s /etc/udhcpc.script -O staticroutes -q -n -t 8 -T 2 >/dev/null 2>&1; then
    say "dhcp $ifc $(cat /run/ip 2>/dev/null)"
  else
    say "dhcp $ifc failed"
  fi
fi
meta=""
for dev in /dev/vd? /dev/sr?; do
  [ -b "$dev" ] || continue
  if mount -t iso9660 -o ro "$dev" /mnt 2>/dev/null; then
    if [ -f /mnt/openstack/latest/meta_data.json ]; then
      cp /mnt/openstack/latest/meta_data.json /www/meta_data.json
      [ -f /mnt/openstack/latest/user_data ] && cp /mnt/openstack/latest/user_data /www/user_data
      [ -f /mnt/openstack/latest/network_data.json ] && cp /mnt/openstack/latest/network_data.json /www/network_data.json
      meta="config-drive"
    fi
    umount /mnt
  fi
  [ -n "$meta" ] && break
done
if [ -z "$meta" ] && [ -n "$ifc" ]; then
  # (not wget -T: Debian's static busybox 1.35 wget crashes with it)
  if timeout 10 wget -q -O /www/meta_data.json http://169.254.169.254/openstack/latest/meta_data.json; then
    timeout 10 wget -q -O /www/user_data http://169.254.169.254/openstack/latest/user_data || rm -f /www/user_data
    meta="metadata-service"
  fi
fi
if [ -n "$meta" ]; then
  say "metadata $meta"
  host=$(sed -n 's/.*"hostname": *"\([^"]*\)".*/\1/p' /www/meta_data.json)
  [ -n "$host" ] && hostname "$host" && say "hostname $host"
  key=$(sed -n 's/.*"public_keys": *{[^}]*: *"\([^"]*\)".*/\1/p' /www/meta_data.json)
  [ -n "$key" ] && say "ssh-key $key"
  [ -f /www/user_data ] && say "user-data $(head -c 200 /www/user_data | tr '\n' ' ')"
  # a user-data script runs once, as cloud-init runs one; what it prints goes to the console
  if [ -f /www/user_data ] && [ "$(head -c 2 /www/user_data)" = "#!" ]; then
    chmod +x /www/user_data
    timeout 30 /www/user_data > /www/user_data.out 2>&1
    say "user-data-ran $? $(head -c 200 /www/user_data.out | tr '\n' ' ')"
  fi
else
  say "metadata none"
fi
echo "nubes test guest $(hostname)" > /www/index.html
httpd -p 80 -h /www
(while true; do echo "SSH-2.0-nubes-guest" | nc -l -p 22 >/dev/null 2>&1; done) &
say "ready"
(while true; do getty -l /bin/serial-login 0 ttyS0 vt100; sleep 1; done) &
while true; do sleep 3600; done
""".replace("MODULES", " ".join(MODULES)).replace("MARKER", MARKER)

UDHCPC = r"""#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    # classless static routes (option 121: "dest/len gateway" pairs, the metadata address's
    # among them) replace the router option when the server sends them (RFC 3442)
    if [ -n "$staticroutes" ]; then
      set -- $staticroutes
      while [ -n "$1" ] && [ -n "$2" ]; do ip route add "$1" via "$2" dev "$interface" 2>/dev/null; shift 2; done
    else
      for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    fi
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "$ip" > /run/ip ;;
esac
exit 0
"""

ACPI_POWER = f"#!/bin/sh\necho '{MARKER} power-button' > /dev/console\npoweroff -f\n"
SERIAL_LOGIN = "#!/bin/sh\nexec /bin/sh -l\n"     # getty's login program: any name, a shell


@dataclass(frozen=True)
class GuestFiles:
    kernel: Path
    initramfs: Path
    kernel_version: str


class GuestBuildError(RuntimeError):
    pass


def installed_kernel() -> tuple[Path, str]:
    found = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    if not found:
        raise GuestBuildError("no /boot/vmlinuz-*-cloud-amd64: install linux-image-cloud-amd64 "
                              "(apt-get install linux-image-cloud-amd64)")
    path = Path(found[-1])
    return path, path.name[len("vmlinuz-"):]


def ensure_packages() -> None:
    """Install the Debian packages the guest is made of, when root and they are missing."""
    missing = [p for p in PACKAGES if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
    if not missing:
        return
    if os.geteuid() != 0:
        raise GuestBuildError(f"the test guest needs the Debian packages {', '.join(missing)}; "
                              "install them as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def _module_file(kver: str, name: str) -> Path:
    res = subprocess.run(["modinfo", "-k", kver, "-F", "filename", name], capture_output=True, text=True)
    path = res.stdout.strip().splitlines()[0] if res.stdout.strip() else ""
    if res.returncode or not path or path == "(builtin)":
        raise GuestBuildError(f"kernel module {name} of {kver} not found")
    return Path(path)


def _module_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".xz":
        import lzma

        data = lzma.decompress(data)
    elif path.suffix == ".zst":
        raise GuestBuildError(f"{path}: zstd-compressed modules are not supported")
    return data


def entries(kver: str, busybox: bytes, modules: dict[str, bytes]) -> list[Entry]:
    out = [Entry(d, kind="dir", mode=0o755) for d in
           ("bin", "dev", "proc", "sys", "tmp", "run", "mnt", "www", "etc", "etc/acpi", "etc/acpi/PWRF",
            "lib", "lib/modules")]
    out.append(Entry("bin/busybox", busybox, 0o755))
    out.append(Entry("bin/sh", b"busybox", 0o777, "symlink"))
    out.append(Entry("init", INIT.encode(), 0o755))
    out.append(Entry("etc/udhcpc.script", UDHCPC.encode(), 0o755))
    out.append(Entry("etc/acpi/PWRF/00000080", ACPI_POWER.encode(), 0o755))
    out.append(Entry("bin/serial-login", SERIAL_LOGIN.encode(), 0o755))
    out += [Entry(f"lib/modules/{name}.ko", data, 0o644) for name, data in modules.items()]
    return out


def build(out_dir: Path) -> GuestFiles:
    """Write ``vmlinuz`` and ``initramfs.gz`` of the test guest into ``out_dir``."""
    ensure_packages()
    kernel, kver = installed_kernel()
    modules = {m: _module_bytes(_module_file(kver, m)) for m in MODULES}
    busybox = Path("/bin/busybox").read_bytes()
    out_dir.mkdir(parents=True, exist_ok=True)
    initramfs = out_dir / "initramfs.gz"
    initramfs.write_bytes(archive(entries(kver, busybox, modules)))
    target = out_dir / "vmlinuz"
    target.write_bytes(kernel.read_bytes())
    return GuestFiles(target, initramfs, kver)


def console_markers(text: str) -> dict[str, str]:
    """The guest's ``nubes-guest:`` console lines as {word: rest}."""
    out: dict[str, str] = {}
    for m in re.finditer(rf"{re.escape(MARKER)} (\S+) ?(.*)", text):
        out.setdefault(m.group(1), m.group(2).strip())
    return out
