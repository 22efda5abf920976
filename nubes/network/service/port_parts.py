"""The parts of a port besides its addresses: binding, port security with security groups and
allowed address pairs, extra DHCP options. Each function works on a Port row in the caller's
transaction, with ML2's rules (``_portsec_ext_port_create_processing`` and its update twin).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.models import AllowedAddressPair, ExtraDhcpOpt, Port, PortSecurityGroup
from nubes.network.exceptions import (
    AddressPairAndPortSecurityRequired,
    PortSecurityAndIPRequiredForSecurityGroups,
    PortSecurityPortHasSecurityGroup,
)

UNBOUND, BINDING_FAILED, BRIDGE = "unbound", "binding_failed", "bridge"
# The VNIC types Neutron's API accepts (neutron_lib portbindings); the Linux bridge backend binds
# only "normal" ports, the others fail to bind on any host (binding:vif_type binding_failed).
VNIC_TYPES = ("normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder", "smart-nic",
              "vdpa", "accelerator-direct", "accelerator-direct-physical", "remote-managed")
BRIDGE_DETAILS = {"port_filter": True, "connectivity": "l2"}


def is_trusted(device_owner: str) -> bool:
    """Ports of the network itself (DHCP, routers, floating IPs) get no security groups."""
    return bool(device_owner) and device_owner.startswith("network:")


def apply_binding(row: Port) -> None:
    """vif_type and vif_details follow the host: unbound without one, bridge on one."""
    if not row.binding_host_id:
        row.binding_vif_type, row.binding_vif_details = UNBOUND, {}
    elif row.binding_vnic_type == "normal":
        row.binding_vif_type, row.binding_vif_details = BRIDGE, dict(BRIDGE_DETAILS)
    else:
        row.binding_vif_type, row.binding_vif_details = BINDING_FAILED, {}


def is_bound(row: Port) -> bool:
    return row.binding_vif_type not in (UNBOUND, BINDING_FAILED)


def pair_rows(pairs: list[dict[str, Any]], port_mac: str) -> list[AllowedAddressPair]:
    return [AllowedAddressPair(ip_address=p["ip_address"],
                               mac_address=(p.get("mac_address") or port_mac).lower(), position=i)
            for i, p in enumerate(pairs)]


def dhcp_rows(opts: list[dict[str, Any]]) -> list[ExtraDhcpOpt]:
    return [ExtraDhcpOpt(opt_name=o["opt_name"], opt_value=o["opt_value"], ip_version=o.get("ip_version", 4))
            for o in opts if o.get("opt_value") is not None]


def merge_dhcp(current: list[ExtraDhcpOpt], changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutron's update semantics: a named option is replaced, a null value deletes it."""
    merged = {(o.opt_name, o.ip_version): o.opt_value for o in current}
    for opt in changes:
        key = (opt["opt_name"], opt.get("ip_version", 4))
        if opt.get("opt_value") is None:
            merged.pop(key, None)
        else:
            merged[key] = opt["opt_value"]
    return [{"opt_name": n, "ip_version": v, "opt_value": val} for (n, v), val in merged.items()]


async def groups_for_new_port(s: AsyncSession, is_admin: bool, project_id: str, values: dict[str, Any],
                              port_security: bool, device_owner: str) -> list[str]:
    from nubes.network.service import security_groups

    requested = values.get("security_groups")
    if values.get("allowed_address_pairs") and not port_security:
        raise AddressPairAndPortSecurityRequired()
    if is_trusted(device_owner):
        return []
    if port_security:
        return await security_groups.resolve_for_port(s, is_admin, project_id, requested)
    if requested:
        raise PortSecurityAndIPRequiredForSecurityGroups()
    return []


async def update_security(s: AsyncSession, is_admin: bool, row: Port, values: dict[str, Any]) -> bool:
    """Port security, security groups and address pairs of an update; True if any changed."""
    from nubes.network.service import security_groups

    enabled = values.get("port_security_enabled", row.port_security_enabled)
    current_groups = sorted(g.security_group_id for g in row.security_groups)
    if not enabled:
        if values.get("allowed_address_pairs"):
            raise AddressPairAndPortSecurityRequired()
        if "allowed_address_pairs" not in values and row.allowed_address_pairs:
            raise AddressPairAndPortSecurityRequired()
        if values.get("security_groups"):
            raise PortSecurityAndIPRequiredForSecurityGroups()
        if "security_groups" not in values and current_groups:
            raise PortSecurityPortHasSecurityGroup()
    changed = False
    if "port_security_enabled" in values and values["port_security_enabled"] != row.port_security_enabled:
        row.port_security_enabled = values["port_security_enabled"]
        changed = True
    if "security_groups" in values:
        wanted = [] if is_trusted(row.device_owner) or values["security_groups"] is None else \
            await security_groups.resolve_for_port(s, is_admin, row.project_id, values["security_groups"])
        if sorted(wanted) != current_groups:
            row.security_groups = []
            await s.flush()
            row.security_groups = [PortSecurityGroup(security_group_id=g) for g in wanted]
            changed = True
    if "allowed_address_pairs" in values:
        new = [(p["ip_address"], (p.get("mac_address") or row.mac_address).lower())
               for p in values["allowed_address_pairs"] or []]
        old = [(p.ip_address, p.mac_address) for p in row.allowed_address_pairs]
        if new != old:
            row.allowed_address_pairs = []
            await s.flush()
            row.allowed_address_pairs = pair_rows(values["allowed_address_pairs"] or [], row.mac_address)
            changed = True
    return changed


async def update_dhcp_opts(s: AsyncSession, row: Port, changes: list[dict[str, Any]] | None) -> bool:
    if not changes:
        return False
    merged = merge_dhcp(row.extra_dhcp_opts, changes)
    if sorted((o["opt_name"], o["ip_version"], o["opt_value"]) for o in merged) == sorted(
            (o.opt_name, o.ip_version, o.opt_value) for o in row.extra_dhcp_opts):
        return False
    row.extra_dhcp_opts = []
    await s.flush()
    row.extra_dhcp_opts = dhcp_rows(merged)
    return True
