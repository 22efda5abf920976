"""The network service's default access rules: Neutron's current (secure RBAC) defaults, oslo.policy syntax.

Rule names are Neutron's, so operators' policy files keep working: ``<action>_<resource>``
for the operation and ``<action>_<resource>:<attribute>`` for attributes only some may set
or see (provider attributes, ``shared``, ``router:external``, ``binding:*``).

Every operation rule takes project-scoped tokens only, as Neutron's do (an unscoped token counts
as project scope in oslo.policy, and has no role: it passes the rules that need none, such as
``rule:shared`` on networks). Neutron defines a project ``manager`` check string but grants it
nothing beyond a member's on the resources nubes implements. Legacy mode accepts each rule
without its persona roles (Neutron's deprecated ``admin_or_owner`` rules).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nubes.core.auth.policy import Check, RuleDefault, without_personas

ADMIN = "rule:context_is_admin"
OWNER_MEMBER = "role:member and project_id:%(project_id)s"
OWNER_READER = "role:reader and project_id:%(project_id)s"
ADMIN_OR_MEMBER = f"{ADMIN} or ({OWNER_MEMBER})"
ADMIN_OR_READER = f"{ADMIN} or ({OWNER_READER})"
ADMIN_OR_SERVICE = f"{ADMIN} or rule:service_api"
ADMIN_OR_MEMBER_OR_SERVICE = f"{ADMIN_OR_MEMBER} or rule:service_api"
ADMIN_OR_READER_OR_SERVICE = f"{ADMIN_OR_READER} or rule:service_api"
NETWORK_OWNER_MEMBER = "role:member and tenant_id:%(network:tenant_id)s"
NETWORK_OWNER_READER = "role:reader and tenant_id:%(network:tenant_id)s"

BASE = {
    "context_is_admin": "role:admin",
    "service_api": "role:service",
    "admin_only": ADMIN,
    # Neutron's deprecated building blocks, for operators' files that still name them.
    "owner": "tenant_id:%(tenant_id)s",
    "admin_or_owner": "rule:context_is_admin or rule:owner",
    "admin_or_network_owner": "rule:context_is_admin or tenant_id:%(network:tenant_id)s",
    "admin_owner_or_network_owner": "rule:owner or rule:admin_or_network_owner",
    "shared": "field:networks:shared=True",
    "external": "field:networks:router:external=True",
    "shared_subnetpools": "field:subnetpools:shared=True",
    "shared_security_groups": "field:security_groups:shared=True",
}


def _rules(resource: str, *, create: str = ADMIN_OR_MEMBER, get: str = ADMIN_OR_READER,
           update: str = ADMIN_OR_MEMBER, delete: str = ADMIN_OR_MEMBER) -> dict[str, str]:
    return {f"create_{resource}": create, f"get_{resource}": get,
            f"update_{resource}": update, f"delete_{resource}": delete}


def _admin_attrs(resource: str, attrs: tuple[str, ...], actions: tuple[str, ...] = ("create", "update"),
                 rule: str = ADMIN) -> dict[str, str]:
    return {f"{a}_{resource}:{attr}": rule for a in actions for attr in attrs}


PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
BINDING = ("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details")

RULES: dict[str, str] = {
    **BASE,
    **_rules("network", get=f"{ADMIN_OR_READER} or rule:shared or rule:external or rule:service_api"),
    **_admin_attrs("network", ("shared", "router:external", "is_default", *PROVIDER)),
    **{f"get_network:{a}": ADMIN for a in PROVIDER},
    "get_network:router:external": "",
    "get_network:segments": ADMIN,
    # Neutron: only the network's owner (or an admin) adds, changes or removes its subnets.
    **_rules("subnet", create=f"{ADMIN} or ({NETWORK_OWNER_MEMBER})",
             get=f"{ADMIN_OR_READER} or rule:shared or rule:external or rule:service_api",
             update=f"{ADMIN} or ({NETWORK_OWNER_MEMBER})", delete=f"{ADMIN} or ({NETWORK_OWNER_MEMBER})"),
    "create_subnet:segment_id": ADMIN,
    "update_subnet:segment_id": ADMIN,
    **_rules("subnetpool", get=f"{ADMIN_OR_READER} or rule:shared_subnetpools"),
    **_admin_attrs("subnetpool", ("shared", "is_default")),
    "onboard_network_subnets": ADMIN_OR_MEMBER,
    "add_prefixes": ADMIN_OR_MEMBER,
    "remove_prefixes": ADMIN_OR_MEMBER,
    **_rules("port", create=f"{ADMIN_OR_MEMBER} or ({NETWORK_OWNER_MEMBER}) or rule:service_api",
             get=f"{ADMIN_OR_READER} or ({NETWORK_OWNER_READER}) or rule:service_api",
             update=f"{ADMIN_OR_MEMBER} or rule:service_api",
             delete=f"{ADMIN_OR_MEMBER} or ({NETWORK_OWNER_MEMBER}) or rule:service_api"),
    "create_port:device_owner": f"not rule:network_device or {ADMIN_OR_SERVICE} or ({NETWORK_OWNER_MEMBER})",
    "update_port:device_owner": f"not rule:network_device or {ADMIN_OR_SERVICE} or ({NETWORK_OWNER_MEMBER})",
    "network_device": "field:port:device_owner=~^network:",
    "create_port:mac_address": f"{ADMIN_OR_SERVICE} or ({NETWORK_OWNER_MEMBER})",
    "update_port:mac_address": ADMIN_OR_SERVICE,
    "create_port:fixed_ips": f"{ADMIN_OR_SERVICE} or ({NETWORK_OWNER_MEMBER}) or rule:shared",
    "update_port:fixed_ips": f"{ADMIN_OR_SERVICE} or ({NETWORK_OWNER_MEMBER})",
    "create_port:port_security_enabled": f"{ADMIN_OR_SERVICE} or ({NETWORK_OWNER_MEMBER}) or ({OWNER_MEMBER})",
    "update_port:port_security_enabled": f"{ADMIN_OR_SERVICE} or ({NETWORK_OWNER_MEMBER}) or ({OWNER_MEMBER})",
    **_admin_attrs("port", ("binding:host_id", "binding:profile"), rule=ADMIN_OR_SERVICE),
    **{f"get_port:{a}": ADMIN_OR_SERVICE for a in BINDING},
    "create_port:allowed_address_pairs": f"{ADMIN_OR_MEMBER} or ({NETWORK_OWNER_MEMBER})",
    "update_port:allowed_address_pairs": f"{ADMIN_OR_MEMBER} or ({NETWORK_OWNER_MEMBER})",
    **_rules("security_group", get=f"{ADMIN_OR_READER} or rule:shared_security_groups"),
    **_rules("security_group_rule", get=f"{ADMIN_OR_READER} or role:reader and "
             "tenant_id:%(security_group:tenant_id)s"),
    **_rules("router"),
    **_admin_attrs("router", ("external_gateway_info:enable_snat",
                              "external_gateway_info:external_fixed_ips")),
    "add_router_interface": ADMIN_OR_MEMBER,
    "remove_router_interface": ADMIN_OR_MEMBER,
    **_rules("floatingip"),
    "create_floatingip:floating_ip_address": ADMIN,
    **_rules("rbac_policy"),
    "create_rbac_policy:target_tenant": (f"{ADMIN} or (not field:rbac_policy:target_tenant=* and "
                                         "not field:rbac_policy:target_project=*)"),
    "update_rbac_policy:target_tenant": (f"{ADMIN} or (not field:rbac_policy:target_tenant=* and "
                                         "not field:rbac_policy:target_project=*)"),
    "get_agent": ADMIN, "update_agent": ADMIN, "delete_agent": ADMIN, "create_agent": ADMIN,
    "get_quota": ADMIN_OR_READER, "update_quota": ADMIN, "delete_quota": ADMIN,
    "get_network_ip_availability": ADMIN,
    "get_availability_zone": "role:reader",
    "get_extension": "",
}

# Tags (``/v2.0/<collection>/<id>/tags[/<tag>]``): Neutron's ``<action>_<resource>:tags`` rules.
# Reading them takes the resource's own get rule; adding (PUT of one tag, ``create``), replacing
# (PUT of the list, ``update``) and removing them its owner's member (a subnet's also the network
# owner's member), whichever project's token may update the resource itself.
TAGGED = ("network", "subnet", "port", "router", "floatingip", "security_group", "subnetpool")
_SUBNET_TAGS = f"{ADMIN_OR_MEMBER} or ({NETWORK_OWNER_MEMBER})"
for _res in TAGGED:
    _write = _SUBNET_TAGS if _res == "subnet" else RULES[f"update_{_res}"]
    RULES[f"get_{_res}:tags"] = RULES[f"get_{_res}"]
    RULES.update({f"{action}_{_res}:tags": _write for action in ("create", "update", "delete")})

_ANY_SCOPE = {*BASE, "get_extension"}   # building blocks, and the extension list everyone reads
DEFAULTS = [RuleDefault(name, text) if name in _ANY_SCOPE else
            RuleDefault(name, text, scope_types=("project",), deprecated=without_personas(text))
            for name, text in RULES.items()]


def field_check(match: str) -> Check:
    """Neutron's ``field:<resource>:<attribute>=<value>`` check on the target (``=~`` for a regex)."""
    _resource, _, rest = match.partition(":")
    attr, sep, value = rest.partition("=")
    if not sep or not attr:
        raise ValueError(f"field:{match} is not <resource>:<attribute>=<value>")
    if value.startswith("~"):
        pattern = re.compile(value[1:])

        def regex(target: Mapping[str, Any], _creds: Mapping[str, Any]) -> bool:
            have = target.get(attr)
            return isinstance(have, str) and pattern.search(have) is not None
        return regex

    def equal(target: Mapping[str, Any], _creds: Mapping[str, Any]) -> bool:
        have = target.get(attr)
        if isinstance(have, bool):
            return str(have).lower() == value.lower()
        return have is not None and str(have) == value
    return equal


CHECK_KINDS = {"field": field_check}
