"""A ring's device: one disk on one storage server, where it sits (region, zone) and its weight.

Also the operator's ways of naming devices on the command line: Swift's compact form
``r1z1-127.0.0.1:6200/d1`` and search values that pick existing devices (``d3``, ``z2``,
``127.0.0.1:6200``, ``/sdb``, or the compact form with parts left out)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import cached_property


class RingError(ValueError):
    """Bad input to a ring or its builder; the message is meant for the operator."""


@dataclass
class Device:
    id: int
    region: int
    zone: int
    ip: str
    port: int
    device: str
    weight: float
    replication_ip: str = ""
    replication_port: int = 0
    meta: str = ""

    def __post_init__(self):
        self.replication_ip = self.replication_ip or self.ip
        self.replication_port = self.replication_port or self.port

    @property
    def server(self) -> str:
        return f"{self.ip}:{self.port}"

    @cached_property          # placement asks this millions of times; where a device is never changes
    def tiers(self) -> tuple:
        """(region,), (region, zone), (region, zone, server), (..., device id): coarse to fine."""
        r, z, s = self.region, (self.region, self.zone), (self.region, self.zone, self.server)
        return (r,), z, s, s + (self.id,)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Device:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def __str__(self) -> str:
        return f"d{self.id}r{self.region}z{self.zone}-{self.server}/{self.device}"


@dataclass
class NewDevice:
    """What the operator gives to add a device (the builder assigns the id unless given)."""
    region: int
    zone: int
    ip: str
    port: int
    device: str
    weight: float
    replication_ip: str = ""
    replication_port: int = 0
    meta: str = ""
    id: int | None = field(default=None)


_COMPACT = re.compile(
    r"^r(?P<region>\d+)z(?P<zone>\d+)-(?P<ip>\[[0-9a-fA-F:.]+\]|[^:/\[\]]+):(?P<port>\d+)"
    r"(?:R(?P<rip>\[[0-9a-fA-F:.]+\]|[^:/\[\]]+):(?P<rport>\d+))?/(?P<device>[^_\s]+)(?:_(?P<meta>.*))?$")


def parse_compact(text: str, weight: str | float) -> NewDevice:
    """``r1z1-127.0.0.1:6200/d1`` (optionally ``R<ip>:<port>`` replication address, ``_meta``)."""
    m = _COMPACT.match(text.strip())
    if not m:
        raise RingError(f"cannot read device {text!r}: expected r<region>z<zone>-<ip>:<port>/<device>")
    return NewDevice(region=int(m["region"]), zone=int(m["zone"]), ip=m["ip"].strip("[]"),
                     port=int(m["port"]), device=m["device"], weight=parse_weight(weight),
                     replication_ip=(m["rip"] or "").strip("[]"), replication_port=int(m["rport"] or 0),
                     meta=m["meta"] or "")


def parse_weight(value) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise RingError(f"weight must be a number, not {value!r}") from None
    if not weight >= 0 or weight == float("inf"):
        raise RingError(f"weight must be 0 or more, not {value!r}")
    return weight


_SEARCH = re.compile(r"^(?:d(?P<id>\d+))?(?:r(?P<region>\d+))?(?:z(?P<zone>\d+))?"
                     r"(?:-?(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9a-zA-Z.\-]+?)?(?::(?P<port>\d+))?)?"
                     r"(?:/(?P<device>[^_\s]+))?(?:_(?P<meta>.*))?$")


def search(devs, text: str) -> list[Device]:
    """The devices ``text`` names: any of ``d<id>``, ``r<region>``, ``z<zone>``, ``<ip>:<port>``,
    ``/<device>``, ``_<meta>``, in that order, all given parts having to match."""
    m = _SEARCH.match(text.strip())
    if not text.strip() or not m or not any(m.groupdict().values()):
        raise RingError(f"cannot read search value {text!r}: try d<id>, r<region>z<zone>, "
                        "<ip>:<port>/<device>")
    want = m.groupdict()
    found = []
    for dev in devs:
        if dev is None:
            continue
        if want["id"] is not None and dev.id != int(want["id"]):
            continue
        if want["region"] is not None and dev.region != int(want["region"]):
            continue
        if want["zone"] is not None and dev.zone != int(want["zone"]):
            continue
        if want["ip"] and dev.ip != want["ip"].strip("[]"):
            continue
        if want["port"] is not None and dev.port != int(want["port"]):
            continue
        if want["device"] is not None and dev.device != want["device"]:
            continue
        if want["meta"] is not None and want["meta"] not in dev.meta:
            continue
        found.append(dev)
    return found
