"""``nubes guest``: build the test guest, and register it in a running cloud's image service.

``nubes guest build [--out DIR]`` writes ``vmlinuz`` and ``initramfs.gz`` (from Debian's
``linux-image-cloud-amd64`` and ``busybox-static``, installed first when root);
``nubes guest register [--cloud NAME] [--clouds-yaml FILE]`` builds it into
``<state dir>/guest`` and uploads kernel, ramdisk and root disk to the image service of the
``clouds.yaml`` cloud (by default the one ``nubes up`` wrote in its state directory).
``cli.py`` holds only the subparser; the work is here.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_parser(sub: Any, state_dir_of: Callable[[argparse.Namespace], Path]) -> None:
    """Add ``guest build`` and ``guest register`` to the ``nubes`` subparsers ``sub``."""
    guest = sub.add_parser("guest", help="build the test guest (a Debian kernel and a busybox initramfs) "
                                         "and register it in the cloud's image service")
    gsub = guest.add_subparsers(dest="guest_command", required=True)
    b = gsub.add_parser("build", help="write vmlinuz and initramfs.gz of the test guest")
    b.add_argument("--out", help="where to write them (default: <state dir>/guest)")
    b.add_argument("--state-dir")
    b.set_defaults(func=lambda args: build_command(args, state_dir_of))
    r = gsub.add_parser("register", help="build the test guest and upload it to the image service "
                                         "(kernel, ramdisk, and a root disk linking them)")
    r.add_argument("--cloud", default="nubes", help="the cloud of clouds.yaml to register in (default: nubes)")
    r.add_argument("--clouds-yaml", help="default: <state dir>/clouds.yaml, as `nubes up` writes it")
    r.add_argument("--out", help="where to build the guest (default: <state dir>/guest)")
    r.add_argument("--state-dir")
    r.set_defaults(func=lambda args: register_command(args, state_dir_of))


def _say(msg: str) -> None:
    print(msg, flush=True)


def _build(out: Path):
    from nubes.compute.guest import build

    _say(f"nubes guest: building the test guest in {out} (installs {', '.join(build.PACKAGES)} "
         "when missing) ...")
    started = time.monotonic()
    try:
        files = build.build(out)
    except build.GuestBuildError as e:
        _say(f"nubes guest: {e}")
        return None
    _say(f"nubes guest: built kernel {files.kernel_version} and its initramfs "
         f"({files.initramfs.stat().st_size // 1024} KiB) in {time.monotonic() - started:.1f}s")
    return files


def build_command(args: argparse.Namespace, state_dir_of: Callable[[argparse.Namespace], Path]) -> int:
    out = Path(args.out).expanduser().resolve() if args.out else state_dir_of(args) / "guest"
    files = _build(out)
    if files is None:
        return 1
    _say(f"  {files.kernel}\n  {files.initramfs}\n"
         "Next: `nubes guest register` uploads it to a running cloud's image service.")
    return 0


def register_command(args: argparse.Namespace, state_dir_of: Callable[[argparse.Namespace], Path]) -> int:
    import httpx

    from nubes.compute.guest import register

    state_dir = state_dir_of(args)
    clouds = Path(args.clouds_yaml).expanduser() if args.clouds_yaml else state_dir / "clouds.yaml"
    if not clouds.exists():
        _say(f"nubes guest: {clouds} does not exist: start the cloud first (`nubes up`), "
             "or name a clouds.yaml with --clouds-yaml")
        return 1
    files = _build(Path(args.out).expanduser().resolve() if args.out else state_dir / "guest")
    if files is None:
        return 1
    _say(f"nubes guest: registering it in the image service of cloud {args.cloud!r} ...")
    try:
        done = register.register(files, clouds, args.cloud)
    except KeyError as e:
        _say(f"nubes guest: {clouds} has no cloud or setting {e}")
        return 1
    except (httpx.HTTPError, RuntimeError) as e:
        _say(f"nubes guest: registering failed: {e}")
        return 1
    _say(f"nubes guest: image {register.NAME} is {done.image_id} (kernel {done.kernel_id}, "
         f"ramdisk {done.ramdisk_id})\n"
         f"Next: openstack --os-cloud {args.cloud} server create --image {register.NAME} "
         "--flavor <a flavor with 128 MB or more> --network <network> test-guest\n"
         "      then `openstack console log show test-guest` shows its `nubes-guest:` lines.")
    return 0

