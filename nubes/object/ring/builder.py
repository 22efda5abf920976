"""The ring builder: the operator's editable ring (devices, weights, part→device table) and the
rebalance that turns it into a ring file.

What a rebalance aims for, in this order (Swift's rules, with weight winning over dispersion):

* every replica of a partition on its own device, always;
* partitions in proportion to device weight: a device is "full" once it holds its share, and a
  full device (or zone, server, region) is chosen only when nothing below its share can take
  the replica;
* within that, each partition's replicas as unique as possible: other regions first, then other
  zones, then other servers (ip:port), then other devices;
* as few moves as possible: only replicas on removed devices, on devices above their share or
  needed for dispersion are picked up, at most one replica of a partition per rebalance, and not
  from a partition moved less than ``min_part_hours`` ago (replicas on removed devices always
  move: their data is going away).

The builder file is JSON (devices, settings and the table as base64 arrays); writing it and the
ring file is atomic."""

from __future__ import annotations

import base64
import json
import math
import sys
import time
from array import array
from collections import Counter
from pathlib import Path

from nubes.object.ring.device import Device, NewDevice, RingError
from nubes.core.durable import write_atomically
from nubes.object.ring.ring import Ring, ring_bytes

MAX_PART_POWER = 24          # 16.7 M partitions: ~200 MB of table per 3 replicas; Swift allows 32
BUILDER_FORMAT = 1
NONE = -1


def hours_now() -> int:
    return int(time.time() // 3600)


class RingBuilder:
    def __init__(self, part_power: int, replicas: int, min_part_hours: int):
        if not isinstance(part_power, int) or not 0 <= part_power <= MAX_PART_POWER:
            raise RingError(f"part_power must be an integer from 0 to {MAX_PART_POWER}, not {part_power!r}")
        if not isinstance(replicas, int) or replicas < 1:
            raise RingError(f"replicas must be a whole number, 1 or more, not {replicas!r} "
                            "(fractional replicas are not supported)")
        if not isinstance(min_part_hours, int) or min_part_hours < 0:
            raise RingError(f"min_part_hours must be 0 or more, not {min_part_hours!r}")
        self.part_power = part_power
        self.replicas = replicas
        self.min_part_hours = min_part_hours
        self.version = 0
        self.devs: list[Device | None] = []
        self.removing: set[int] = set()          # removed, their replicas still to move away
        self.table: list[array] | None = None    # table[replica][part] = device id, NONE if none
        self.last_moved = array("I", bytes(4 * self.parts))   # hour of each part's last move, 0 never
        self.changed = False                     # devices changed since the last rebalance

    @property
    def parts(self) -> int:
        return 1 << self.part_power

    # -- devices

    def add_device(self, new: NewDevice) -> Device:
        if new.weight < 0 or not math.isfinite(new.weight):
            raise RingError(f"weight must be 0 or more, not {new.weight}")
        if not new.ip or not new.device or not 0 < new.port < 65536:
            raise RingError("a device needs an ip, a port from 1 to 65535 and a device name")
        if new.region < 0 or new.zone < 0:
            raise RingError("region and zone must be 0 or more")
        for dev in self.live_devices(include_zero=True):
            if (dev.ip, dev.port, dev.device) == (new.ip, new.port, new.device):
                raise RingError(f"device {dev} is already in the ring (same ip, port and device name)")
        dev_id = len(self.devs) if new.id is None else new.id
        if dev_id < len(self.devs) and self.devs[dev_id] is not None:
            raise RingError(f"device id {dev_id} is taken by {self.devs[dev_id]}")
        while len(self.devs) <= dev_id:
            self.devs.append(None)
        dev = Device(dev_id, new.region, new.zone, new.ip, new.port, new.device, float(new.weight),
                     new.replication_ip, new.replication_port, new.meta)
        self.devs[dev_id] = dev
        self.changed = True
        return dev

    def device(self, dev_id: int) -> Device:
        if 0 <= dev_id < len(self.devs) and self.devs[dev_id] is not None and dev_id not in self.removing:
            return self.devs[dev_id]
        raise RingError(f"no device d{dev_id} in the ring")

    def set_weight(self, dev_id: int, weight: float) -> Device:
        if weight < 0 or not math.isfinite(weight):
            raise RingError(f"weight must be 0 or more, not {weight}")
        dev = self.device(dev_id)
        dev.weight = float(weight)
        self.changed = True
        return dev

    def remove_device(self, dev_id: int) -> Device:
        """Mark a device removed; the next rebalance moves its replicas away and forgets it."""
        dev = self.device(dev_id)
        dev.weight = 0.0
        if self.table is None or not any(dev_id in row for row in self.table):
            self.devs[dev_id] = None
        else:
            self.removing.add(dev_id)
        self.changed = True
        return dev

    def pretend_min_part_hours_passed(self) -> None:
        """Let every partition move at the next rebalance (a new cluster without data yet)."""
        self.last_moved = array("I", bytes(4 * self.parts))

    def live_devices(self, include_zero: bool = False) -> list[Device]:
        return [d for d in self.devs if d is not None and d.id not in self.removing
                and (include_zero or d.weight > 0)]

    # -- what each device should hold and holds

    def wanted(self) -> dict[int, float]:
        live = self.live_devices()
        total = sum(d.weight for d in live)
        share = self.parts * self.replicas / total if total else 0
        return {d.id: d.weight * share for d in live}

    def assigned(self) -> dict[int, int]:
        counts = {d.id: 0 for d in self.devs if d is not None}
        for row in self.table or ():
            for dev_id, n in Counter(row).items():
                if dev_id in counts:
                    counts[dev_id] += n
        return counts

    def balance(self) -> dict[int, float]:
        """Each device's percentage above (+) or below (-) the partitions its weight wants (a device
        of weight 0 still holding partitions: 100 % per partition, as it should hold none)."""
        wanted, assigned = self.wanted(), self.assigned()
        out = {}
        for dev in self.devs:
            if dev is None:
                continue
            want = wanted.get(dev.id, 0)
            have = assigned.get(dev.id, 0)
            out[dev.id] = 100.0 * (have - want) / want if want else (100.0 * have if have else 0.0)
        return out

    def overall_balance(self) -> float:
        values = [abs(b) for b in self.balance().values()]
        return max(values, default=0.0)

    def dispersion(self) -> dict:
        """How many partitions have two or more replicas sharing a region, zone, server or device,
        beside how many zones/servers there are (sharing is unavoidable with fewer than replicas)."""
        report = {"parts": self.parts, "replicas": self.replicas, "region": 0, "zone": 0, "server": 0,
                  "device": 0, "unassigned": 0}
        live = self.live_devices()
        report["regions"] = len({d.tiers[0] for d in live})
        report["zones"] = len({d.tiers[1] for d in live})
        report["servers"] = len({d.tiers[2] for d in live})
        if self.table is None:
            report["unassigned"] = self.parts
            return report
        devs = self.devs
        rows = self.table
        for part in range(self.parts):
            ids = [row[part] for row in rows]
            if NONE in ids:
                report["unassigned"] += 1
                continue
            tiers = [devs[i].tiers for i in ids]
            for level, name in enumerate(("region", "zone", "server", "device")):
                if len({t[level] for t in tiers}) < len(tiers):
                    report[name] += 1
        return report

    # -- rebalance

    def rebalance(self, now: int | None = None, progress=None) -> dict:
        """Assign replicas; returns what moved. ``now`` is in hours (tests pass their own clock);
        ``progress(done, total)`` is called now and then while placing."""
        live = self.live_devices()
        if len(live) < self.replicas:
            raise RingError(f"{self.replicas} replicas need at least {self.replicas} devices with weight "
                            f"above 0; the builder has {len(live)}")
        from nubes.object.ring.placement import Placer

        now = hours_now() if now is None else now
        if self.table is None:
            self.table = [array("i", [NONE]) * self.parts for _ in range(self.replicas)]
        placer = Placer(self, now)
        moved = placer.run(progress)
        for dev_id in self.removing:
            self.devs[dev_id] = None
        self.removing.clear()
        while self.devs and self.devs[-1] is None:
            self.devs.pop()
        self.version += 1
        self.changed = False
        return {"moved": moved, "parts": self.parts, "replicas": self.replicas,
                "balance": self.overall_balance(), "version": self.version,
                "blocked": placer.blocked}

    def ring(self) -> Ring:
        if self.table is None or any(NONE in row for row in self.table):
            raise RingError("the builder has not been rebalanced: nothing to write")
        typecode = "H" if len(self.devs) < 0xFFFF else "I"
        return Ring(self.part_power, list(self.devs), [array(typecode, row) for row in self.table],
                    self.version)

    # -- files

    def to_dict(self) -> dict:
        def pack(arr: array) -> str:
            out = array(arr.typecode, arr)
            if sys.byteorder != "little":
                out.byteswap()
            return base64.b64encode(out.tobytes()).decode()

        return {"format": BUILDER_FORMAT, "part_power": self.part_power, "replicas": self.replicas,
                "min_part_hours": self.min_part_hours, "version": self.version,
                "devs": [d.to_dict() if d is not None else None for d in self.devs],
                "removing": sorted(self.removing), "changed": self.changed,
                "table": [pack(row) for row in self.table] if self.table is not None else None,
                "last_moved": pack(self.last_moved)}

    @classmethod
    def from_dict(cls, data: dict) -> RingBuilder:
        def unpack(code: str, text: str) -> array:
            out = array(code)
            out.frombytes(base64.b64decode(text))
            if sys.byteorder != "little":
                out.byteswap()
            return out

        if data.get("format") != BUILDER_FORMAT:
            raise RingError(f"builder format {data.get('format')} is not one this nubes reads")
        builder = cls(data["part_power"], data["replicas"], data["min_part_hours"])
        builder.version = data["version"]
        builder.devs = [Device.from_dict(d) if d is not None else None for d in data["devs"]]
        builder.removing = set(data["removing"])
        builder.changed = data.get("changed", False)
        if data["table"] is not None:
            builder.table = [unpack("i", row) for row in data["table"]]
        builder.last_moved = unpack("I", data["last_moved"])
        return builder

    def save(self, path) -> None:
        write_atomically(Path(path), json.dumps(self.to_dict(), indent=1).encode())

    @classmethod
    def load(cls, path) -> RingBuilder:
        path = Path(path)
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise RingError(f"no builder file at {path} (make one with: nubes ring create)") from None
        except ValueError as exc:
            raise RingError(f"{path} is not a builder file: {exc}") from None
        try:
            return cls.from_dict(data)
        except RingError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RingError(f"{path} is not a builder file (or is damaged): {exc!r}") from None

    def write_ring(self, path) -> Ring:
        ring = self.ring()
        write_atomically(Path(path), ring_bytes(ring.version, ring.part_power, ring.devs, ring.table))
        return ring
