"""Nova's host filters. Each returns None when the host passes, or a Rejection saying why not
in words an operator can act on (grouped and counted by ``explain``)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from nubes.compute.scheduler.hosts import HostState
from nubes.compute.scheduler.spec import RequestSpec


@dataclass(frozen=True)
class Rejection:
    key: str            # hosts rejected for the same key are counted together
    one: str            # "was disabled (maintenance)"
    many: str           # "were disabled (maintenance)"


Filter = Callable[[HostState, RequestSpec], Rejection | None]


def compute_filter(h: HostState, spec: RequestSpec) -> Rejection | None:
    if not h.service_known:
        return Rejection("no-service", "has no compute service", "have no compute service")
    if h.forced_down:
        return Rejection("forced-down", "was forced down", "were forced down")
    if h.disabled:
        reason = h.disabled_reason or "no reason given"
        return Rejection(f"disabled:{reason}", f"was disabled ({reason})", f"were disabled ({reason})")
    if not h.up:
        silent = f"no heartbeat for {int(h.silent_for)} s" if h.silent_for is not None else "never reported"
        return Rejection("down", f"was down ({silent})", f"were down ({silent})")
    return None


def availability_zone_filter(h: HostState, spec: RequestSpec) -> Rejection | None:
    az = spec.availability_zone
    if az and az not in h.zones:
        return Rejection(f"az:{az}", f"was not in availability zone {az}",
                         f"were not in availability zone {az}")
    return None


HV_ALIASES = {"xapi": "xen", "qemu": "qemu", "kvm": "kvm", "fake": "fake"}


def image_properties_filter(h: HostState, spec: RequestSpec) -> Rejection | None:
    props = spec.image_properties
    arch = props.get("hw_architecture") or props.get("architecture")
    if arch and h.arch and _norm_arch(arch) != _norm_arch(h.arch):
        return Rejection(f"arch:{arch}", f"does not run {arch} images (it is {h.arch})",
                         f"do not run {arch} images")
    hv = props.get("img_hv_type") or props.get("hypervisor_type")
    if hv and HV_ALIASES.get(hv.lower(), hv.lower()) != h.hypervisor_type.lower():
        return Rejection(f"hv:{hv}", f"is not a {hv} hypervisor", f"are not {hv} hypervisors")
    wanted = props.get("img_hv_requested_version")
    if wanted and not _version_ok(str(wanted), h.hypervisor_version):
        return Rejection(f"hvv:{wanted}", f"has no hypervisor version {wanted}",
                         f"have no hypervisor version {wanted}")
    return None


def _norm_arch(a: str) -> str:
    a = a.lower()
    return {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "i686": "i386"}.get(a, a)


def _version_ok(expr: str, have: int) -> bool:
    ops = {">=": operator.ge, "<=": operator.le, "==": operator.eq, ">": operator.gt, "<": operator.lt}
    for sym in (">=", "<=", "==", ">", "<"):
        if expr.startswith(sym):
            try:
                return ops[sym](have, int(_version_int(expr[len(sym):].strip())))
            except ValueError:
                return True
    return True


def _version_int(text: str) -> int:
    parts = [int(p) for p in text.split(".")] + [0, 0, 0]
    return parts[0] * 1000000 + parts[1] * 1000 + parts[2] if "." in text else int(text)


def anti_affinity_filter(h: HostState, spec: RequestSpec) -> Rejection | None:
    g = spec.group
    if g is None or g.policy != "anti-affinity":
        return None
    limit = int(g.rules.get("max_server_per_host", 1))
    if g.member_hosts.count(h.host) < limit:
        return None
    what = (f"a member of server group {g.name}" if limit == 1 else
            f"{limit} members of server group {g.name}, its max_server_per_host")
    return Rejection(f"anti:{g.id}", f"already hosts {what} (anti-affinity)",
                     f"each already host {what} (anti-affinity)")


def affinity_filter(h: HostState, spec: RequestSpec) -> Rejection | None:
    g = spec.group
    if g is None or g.policy != "affinity" or not g.member_hosts or h.host in g.member_hosts:
        return None
    where = ", ".join(sorted(set(g.member_hosts)))
    return Rejection(f"aff:{g.id}", f"is not {where}, where server group {g.name} runs (affinity)",
                     f"are not {where}, where server group {g.name} runs (affinity)")


SCOPE = "aggregate_instance_extra_specs"


def aggregate_extra_specs_filter(h: HostState, spec: RequestSpec) -> Rejection | None:
    for key, wanted in spec.extra_specs.items():
        scope, _, name = key.partition(":")
        if name and scope != SCOPE:
            continue
        name = name or scope
        values = [m[name] for m in h.aggregates if name in m]
        if not any(match(v, wanted) for agg in values for v in agg.split(",")):
            return Rejection(f"aggspec:{name}={wanted}", f"is in no aggregate with {name}={wanted}",
                             f"are in no aggregate with {name}={wanted}")
    return None


def match(value: str, req: str) -> bool:
    """Nova's extra spec operators: ``=`` (>= for numbers), ``s==``, ``<in>``, ``<or>``, ``==``..."""
    value, words = value.strip(), req.split()
    if not words:
        return value == req
    op, args = words[0], words[1:]
    if op == "<or>":
        return value in [a for a in args if a != "<or>"]
    if op == "<in>":
        return bool(args) and args[0] in value
    str_ops = {"s==": operator.eq, "s!=": operator.ne, "s>=": operator.ge, "s<=": operator.le,
               "s>": operator.gt, "s<": operator.lt}
    if op in str_ops and args:
        return str_ops[op](value, args[0])
    num_ops = {"=": operator.ge, "==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le}
    if op in num_ops and args:
        try:
            return num_ops[op](float(value), float(args[0]))
        except ValueError:
            return False
    return value == req


def retry_filter(h: HostState, spec: RequestSpec) -> Rejection | None:
    if h.host in spec.ignore_hosts:
        return Rejection("tried", "was already tried for this server", "were already tried for this server")
    return None


def same_host_filter(h: HostState, spec: RequestSpec) -> Rejection | None:
    if spec.same_host and h.host not in spec.same_host:
        return Rejection("same-host", "does not run the servers named in same_host",
                         "do not run the servers named in same_host")
    return None


def different_host_filter(h: HostState, spec: RequestSpec) -> Rejection | None:
    if h.host in spec.different_host:
        return Rejection("different-host", "runs a server named in different_host",
                         "run a server named in different_host")
    return None


REGISTRY: dict[str, Filter] = {
    "ComputeFilter": compute_filter,
    "AvailabilityZoneFilter": availability_zone_filter,
    "ImagePropertiesFilter": image_properties_filter,
    "ServerGroupAntiAffinityFilter": anti_affinity_filter,
    "ServerGroupAffinityFilter": affinity_filter,
    "AggregateInstanceExtraSpecsFilter": aggregate_extra_specs_filter,
    "SameHostFilter": same_host_filter,
    "DifferentHostFilter": different_host_filter,
}


def enabled(names: list[str]) -> list[tuple[str, Filter]]:
    """The configured filters (unknown names are skipped), always after the retry filter."""
    return [("RetryFilter", retry_filter)] + [(n, REGISTRY[n]) for n in names if n in REGISTRY]
