#!/usr/bin/env bash
# Installs what nubes needs into ./.venv (idempotent; re-runs pip only when pyproject.toml changes).
# Usage: scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
extras="[client]"                       # the openstack CLI the README uses
testing=""
if [ "${1:-}" = "--test" ]; then extras="[client,test]"; testing=1; fi

need_apt=()
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v git >/dev/null || need_apt+=(git)
# The network data plane (bridges, VXLAN, nftables, dnsmasq, gratuitous ARP, radvd): only as root on
# Debian, where `nubes up` runs it; elsewhere the cloud runs with the data plane off.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  command -v ip >/dev/null || need_apt+=(iproute2)
  command -v nft >/dev/null || need_apt+=(nftables)
  command -v dnsmasq >/dev/null || need_apt+=(dnsmasq-base)
  command -v dhcp_release >/dev/null || need_apt+=(dnsmasq-utils)   # forgets leases of removed ports
  command -v arping >/dev/null || need_apt+=(iputils-arping)
  command -v radvd >/dev/null || need_apt+=(radvd)                  # IPv6 router advertisements
  command -v sysctl >/dev/null || need_apt+=(procps)
  # the data-plane tests' instances get their addresses with busybox's udhcpc
  if [ -n "$testing" ] && ! command -v busybox >/dev/null; then need_apt+=(busybox-static); fi
fi
# The qemu compute driver (QEMU, qemu-img), the file volume backend and, for the tests, the test
# guest it boots (Debian's cloud kernel and busybox): only as root on Debian, where they can run.
need_qemu=()
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  command -v qemu-system-x86_64 >/dev/null || need_qemu+=(qemu-system-x86)
  # qemu-img and qemu-io (images, volumes, the volume tests) and qemu-storage-daemon (the file
  # volume backend's NBD exports): also on a storage-only node.
  { command -v qemu-img >/dev/null && command -v qemu-io >/dev/null; } || need_qemu+=(qemu-utils)
  command -v qemu-storage-daemon >/dev/null || need_qemu+=(qemu-system-common)
  if [ -n "$testing" ]; then
    ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || need_qemu+=(linux-image-cloud-amd64)
    command -v busybox >/dev/null || need_qemu+=(busybox-static)
  fi
fi
if [ ${#need_qemu[@]} -gt 0 ]; then
  echo "setup: installing Debian packages for the qemu driver: ${need_qemu[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${need_qemu[@]}" >/dev/null
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
stamp=".venv/.nubes-installed${extras}"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages${testing:+ (with test tools)} ..."
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extras}"
  echo "$want" > "$stamp"
fi
