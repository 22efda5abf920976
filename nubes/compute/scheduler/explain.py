"""Why no host fits, in words: placement's shortfalls per resource and the filters' rejections,
counted per reason ("3 hosts lacked 4096 MB RAM (have at most 2048 MB free), 1 was disabled
(maintenance)")."""

from __future__ import annotations

from dataclasses import dataclass, field

from nubes.compute.scheduler.filters import Rejection
from nubes.compute.scheduler.placement import ProviderReport
from nubes.compute.scheduler.spec import RequestSpec

UNITS = {"MEMORY_MB": ("MB RAM", "MB"), "VCPU": ("VCPUs", ""), "DISK_GB": ("GB disk", "GB")}


def _amount(rc: str, n: int) -> str:
    label, _unit = UNITS.get(rc, (rc, ""))
    if rc == "VCPU" and n == 1:
        label = "VCPU"
    return f"{n} {label}"


def _free_text(rc: str, n: int) -> str:
    unit = UNITS.get(rc, ("", ""))[1]
    return f"{n} {unit} free".replace("  ", " ") if unit else f"{n} free"


@dataclass
class Shortfall:
    """Hosts placement left out for the same reason, with the most any of them had."""

    key: str
    rc: str = ""
    need: int = 0
    best: int = 0
    text: tuple[str, str] | None = None
    hosts: int = 0


def shortfall(rep: ProviderReport, spec: RequestSpec) -> Shortfall:
    if not rep.exists:
        return Shortfall("missing", text=("was not in placement", "were not in placement"))
    for rc, need in sorted(spec.resources.items(), key=lambda kv: (kv[0] not in UNITS, kv[0])):
        if rc not in rep.inventories:
            return Shortfall(f"noinv:{rc}", text=(f"had no {rc} inventory", f"had no {rc} inventory"))
        free = rep.free(rc)
        if free < need:
            return Shortfall(f"lack:{rc}", rc, need, free)
        if rep.max_unit(rc) < need:
            mu = rep.max_unit(rc)
            return Shortfall(f"maxunit:{rc}", text=(
                f"can give at most {_amount(rc, mu)} to one server (max_unit)",
                f"can give at most {_amount(rc, mu)} to one server (max_unit)"))
    for trait in spec.required_traits:
        if trait not in rep.traits:
            return Shortfall(f"trait:{trait}", text=(f"lacked trait {trait}", f"lacked trait {trait}"))
    for trait in spec.forbidden_traits:
        if trait in rep.traits:
            return Shortfall(f"forbid:{trait}", text=(f"had forbidden trait {trait}",
                                                       f"had forbidden trait {trait}"))
    return Shortfall("changed", text=("was full when asked", "were full when asked"))


@dataclass
class Explanation:
    parts: list[tuple[int, str, str]] = field(default_factory=list)      # (count, one, many)

    def add_shortfalls(self, items: list[Shortfall]) -> None:
        groups: dict[str, Shortfall] = {}
        for it in items:
            g = groups.setdefault(it.key, Shortfall(it.key, it.rc, it.need, it.best, it.text))
            g.hosts += 1
            g.best = max(g.best, it.best)
        for g in groups.values():
            if g.text is None:
                lack = f"lacked {_amount(g.rc, g.need)}"
                self.parts.append((g.hosts, f"{lack} (has {_free_text(g.rc, max(g.best, 0))})",
                                   f"{lack} (have at most {_free_text(g.rc, max(g.best, 0))})"))
            else:
                self.parts.append((g.hosts, *g.text))

    def add_rejections(self, items: list[Rejection]) -> None:
        groups: dict[str, tuple[Rejection, int]] = {}
        for r in items:
            first, n = groups.get(r.key, (r, 0))
            groups[r.key] = (first, n + 1)
        for r, n in groups.values():
            self.parts.append((n, r.one, r.many))

    def text(self) -> str:
        if not self.parts:
            return "There are not enough hosts available."
        out = []
        ranked = sorted(self.parts, key=lambda p: -p[0])      # the commonest reason first (stable)
        for i, (n, one, many) in enumerate(ranked):
            noun = ("host " if n == 1 else "hosts ") if i == 0 else ""
            out.append(f"{n} {noun}{one if n == 1 else many}")
        return ", ".join(out) + "."
