"""``nubes ring``: the operator's commands on builder files (Swift's swift-ring-builder).

``create``, ``add``, ``remove``, ``set-weight``, ``pretend-min-part-hours-passed`` edit the
builder file; ``rebalance`` assigns
partitions and writes the ring file beside it (``object.builder`` → ``object.ring.gz``);
``show`` and ``dispersion`` report. Bad input is one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from nubes.object.ring.builder import RingBuilder
from nubes.object.ring.device import NewDevice, RingError, parse_compact, parse_weight, search


def add_parser(sub: Any) -> None:
    """Add ``ring create|add|remove|set-weight|rebalance|show|dispersion`` to ``sub``."""
    ring = sub.add_parser("ring", help="build object storage rings (account, container, object)")
    rsub = ring.add_subparsers(dest="ring_command", required=True)
    c = rsub.add_parser("create", help="a new, empty builder file")
    c.add_argument("builder", help="e.g. object.builder (account.builder, container.builder)")
    c.add_argument("part_power", type=int, help="2**part_power partitions (e.g. 10 small, 18 large)")
    c.add_argument("replicas", type=int, help="copies of everything (usually 3)")
    c.add_argument("min_part_hours", type=int, help="hours before a partition may move again (e.g. 1)")
    c.set_defaults(func=cmd_create)
    a = rsub.add_parser("add", help="add a device: --region R --zone Z --ip IP --port P --device D "
                                    "--weight W, or r1z1-127.0.0.1:6200/d1 100 (several pairs allowed)")
    a.add_argument("builder")
    a.add_argument("compact", nargs="*", help="r<region>z<zone>-<ip>:<port>/<device> <weight> ...")
    for flag, kind in (("--region", int), ("--zone", int), ("--ip", str), ("--port", int),
                       ("--device", str), ("--weight", str), ("--replication-ip", str),
                       ("--replication-port", int), ("--meta", str)):
        a.add_argument(flag, type=kind)
    a.set_defaults(func=cmd_add)
    rm = rsub.add_parser("remove", help="remove the devices a search value names (d<id>, "
                                        "r<region>z<zone>, <ip>:<port>/<device>)")
    rm.add_argument("builder")
    rm.add_argument("search")
    rm.set_defaults(func=cmd_remove)
    w = rsub.add_parser("set-weight", help="set the weight of the devices a search value names")
    w.add_argument("builder")
    w.add_argument("search")
    w.add_argument("weight")
    w.set_defaults(func=cmd_set_weight)
    rb = rsub.add_parser("rebalance", help="assign partitions and write the ring file")
    rb.add_argument("builder")
    rb.add_argument("--ring", help="ring file to write (default: beside the builder, NAME.ring.gz)")
    rb.add_argument("--now-hours", type=int, help=argparse.SUPPRESS)    # tests: their own clock
    rb.set_defaults(func=cmd_rebalance)
    pm = rsub.add_parser("pretend-min-part-hours-passed",
                         help="let every partition move at the next rebalance (a cluster without data yet)")
    pm.add_argument("builder")
    pm.set_defaults(func=cmd_pretend)
    s = rsub.add_parser("show", help="devices, their partitions and balance")
    s.add_argument("builder")
    s.set_defaults(func=cmd_show)
    d = rsub.add_parser("dispersion", help="how many partitions have replicas sharing a zone or server")
    d.add_argument("builder")
    d.set_defaults(func=cmd_dispersion)


def ring_path_for(builder: Path) -> Path:
    name = builder.name[:-len(".builder")] if builder.name.endswith(".builder") else builder.name
    return builder.with_name(name + ".ring.gz")


def _say(msg: str) -> None:
    print(msg, flush=True)


def _fail(msg: str) -> int:
    print(f"nubes ring: {msg}", file=sys.stderr, flush=True)
    return 2


def guarded(func):
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except RingError as exc:
            return _fail(str(exc))
    run.__name__ = func.__name__
    return run


@guarded
def cmd_create(args) -> int:
    path = Path(args.builder)
    if path.exists():
        raise RingError(f"{path} exists already; remove it first to start over")
    builder = RingBuilder(args.part_power, args.replicas, args.min_part_hours)
    builder.save(path)
    _say(f"created {path}: {builder.parts} partitions, {builder.replicas} replicas, "
         f"min_part_hours {builder.min_part_hours}. Next: nubes ring add {path} r1z1-IP:PORT/DEVICE WEIGHT")
    return 0


def _new_devices(args) -> list[NewDevice]:
    flags = [args.region, args.zone, args.ip, args.port, args.device, args.weight]
    out = []
    if any(v is not None for v in flags):
        if args.compact:
            raise RingError("give a device either with --region/--zone/... or in the compact form, not both")
        missing = [n for n, v in zip(("--region", "--zone", "--ip", "--port", "--device", "--weight"), flags)
                   if v is None]
        if missing:
            raise RingError(f"adding a device needs {', '.join(missing)}")
        out.append(NewDevice(args.region, args.zone, args.ip, args.port, args.device,
                             parse_weight(args.weight),
                             args.replication_ip or "", args.replication_port or 0, args.meta or ""))
    else:
        if not args.compact or len(args.compact) % 2:
            raise RingError("give a device as r<region>z<zone>-<ip>:<port>/<device> <weight> "
                            "(pairs), or with --region --zone --ip --port --device --weight")
        for text, weight in zip(args.compact[::2], args.compact[1::2]):
            out.append(parse_compact(text, weight))
    return out


@guarded
def cmd_add(args) -> int:
    builder = RingBuilder.load(args.builder)
    added = [builder.add_device(new) for new in _new_devices(args)]
    builder.save(args.builder)
    for dev in added:
        _say(f"added {dev} weight {dev.weight:g}")
    _say(f"Next: nubes ring rebalance {args.builder}")
    return 0


def _found(builder: RingBuilder, text: str):
    devs = search(builder.live_devices(include_zero=True), text)
    if not devs:
        raise RingError(f"no device matches {text!r}")
    return devs


@guarded
def cmd_remove(args) -> int:
    builder = RingBuilder.load(args.builder)
    for dev in _found(builder, args.search):
        builder.remove_device(dev.id)
        _say(f"removed {dev}; its partitions move at the next rebalance")
    builder.save(args.builder)
    return 0


@guarded
def cmd_set_weight(args) -> int:
    builder = RingBuilder.load(args.builder)
    weight = parse_weight(args.weight)
    for dev in _found(builder, args.search):
        builder.set_weight(dev.id, weight)
        _say(f"{dev} weight is now {weight:g}")
    builder.save(args.builder)
    return 0


@guarded
def cmd_rebalance(args) -> int:
    path = Path(args.builder)
    builder = RingBuilder.load(path)
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        if time.monotonic() - started > 2:
            print(f"\rplacing replicas: {done}/{total}", end="", file=sys.stderr, flush=True)

    result = builder.rebalance(now=args.now_hours, progress=progress)
    ring_file = Path(args.ring) if args.ring else ring_path_for(path)
    builder.write_ring(ring_file)
    builder.save(path)
    if time.monotonic() - started > 2:
        print(file=sys.stderr)
    _say(f"rebalanced {path}: {result['moved']} replicas assigned or moved, "
         f"balance {result['balance']:.2f}%, "
         f"version {result['version']} ({time.monotonic() - started:.1f}s); wrote {ring_file}")
    if result["blocked"]:
        _say(f"{result['blocked']} replicas should still move, but a partition moves one replica per "
             f"rebalance and then waits min_part_hours ({builder.min_part_hours} h): rebalance again "
             "after that (a cluster without data yet: nubes ring pretend-min-part-hours-passed first)")
    _say(f"Next: copy {ring_file} to every storage and proxy node (same path on each); "
         "their servers reload a changed ring file without a restart")
    return 0


@guarded
def cmd_pretend(args) -> int:
    builder = RingBuilder.load(args.builder)
    builder.pretend_min_part_hours_passed()
    builder.save(args.builder)
    _say(f"every partition of {args.builder} may move at the next rebalance")
    return 0


@guarded
def cmd_show(args) -> int:
    builder = RingBuilder.load(args.builder)
    assigned, balance, wanted = builder.assigned(), builder.balance(), builder.wanted()
    live = builder.live_devices(include_zero=True)
    _say(f"{args.builder}, version {builder.version}: {builder.parts} partitions, "
         f"{builder.replicas} replicas, "
         f"min_part_hours {builder.min_part_hours}, {len({d.region for d in live})} regions, "
         f"{len({(d.region, d.zone) for d in live})} zones, {len(live)} devices, "
         f"balance {builder.overall_balance():.2f}%"
         + (" (devices changed since the last rebalance)" if builder.changed else ""))
    _say(f"{'id':>4} {'region':>6} {'zone':>4} {'ip:port':<22} {'device':<10} {'weight':>8} "
         f"{'partitions':>10} {'wanted':>10} {'balance':>8}  meta")
    for dev in live:
        _say(f"{dev.id:>4} {dev.region:>6} {dev.zone:>4} {dev.server:<22} {dev.device:<10} {dev.weight:>8g} "
             f"{assigned.get(dev.id, 0):>10} {wanted.get(dev.id, 0):>10.1f} {balance.get(dev.id, 0):>7.2f}%"
             f"  {dev.meta}")
    for dev_id in sorted(builder.removing):
        _say(f"   d{dev_id} removed, {assigned.get(dev_id, 0)} partitions to move at the next rebalance")
    return 0


@guarded
def cmd_dispersion(args) -> int:
    builder = RingBuilder.load(args.builder)
    rep = builder.dispersion()
    parts = rep["parts"]
    _say(f"{args.builder}: {parts} partitions × {rep['replicas']} replicas over {rep['regions']} regions, "
         f"{rep['zones']} zones, {rep['servers']} servers")
    if rep["unassigned"]:
        _say(f"  {rep['unassigned']} partitions not (fully) assigned: rebalance first")
    for level in ("region", "zone", "server", "device"):
        plural = level + "s"
        count = rep[level]
        note = ""
        if level != "device" and rep[plural] < rep["replicas"]:
            note = f" (unavoidable: fewer {plural} than replicas)"
        _say(f"  replicas sharing a {level}: {count} partitions ({100.0 * count / parts:.2f}%){note}")
    return 0
