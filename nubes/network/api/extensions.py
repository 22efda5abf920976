"""GET /v2.0/extensions[/<alias>]: exactly the extensions whose behaviour nubes implements.

Clients (openstacksdk, the openstack CLI, Nova, Heat) look here before they use a feature,
so an alias is listed only once its attributes and routes work end to end.
"""

from __future__ import annotations

from nubes.core.api.http import Request, json_response
from nubes.network.exceptions import NotFound

UPDATED = "2026-12-01T00:00:00-00:00"

# alias -> (name, description)
EXTENSIONS: dict[str, tuple[str, str]] = {
    "network": ("Neutron L2 Network", "The networks resource."),
    "external-net": ("Neutron external network", "Adds external network attribute to network resource."),
    "provider": ("Provider Network", "Expose mapping of virtual networks to physical networks"),
    "net-mtu": ("Network MTU", "Provides MTU attribute for a network resource."),
    "net-mtu-writable": ("Network MTU (writable)", "Provides a writable MTU attribute for a network resource."),
    "l2_adjacency": ("L2 Adjacency", "Display L2 Adjacency for Neutron Networks."),
    "availability_zone": ("Availability Zone", "The availability zone extension."),
    "network_availability_zone": ("Network Availability Zone", "Availability zone support for network."),
    "standard-attr-description": ("standard-attr-description", "Extension to add descriptions to standard attributes"),
    "standard-attr-revisions": ("Resource revision numbers", "This extension will display the revision number of neutron resources."),
    "standard-attr-timestamp": ("Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."),
    "standard-attr-tag": ("Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip", "Enables to set tag on resources with standard attribute."),
    # The older aliases of the same tags API, which clients and upstream's tests still look for.
    "tag": ("Tag support", "Enables to set tag on resources."),
    "tag-ext": ("Tag support for resources: subnet, subnetpool, port, router", "Extends tag support to more L2 and L3 resources."),
    "tag-creation": ("Tag creation extension", "Allow to set tags to a resource on creation"),
    "revision-if-match": ("If-Match constraints based on revision_number", "Extension indicating that If-Match based on revision_number is supported."),
    "project-id": ("project_id field enabled", "Extension that indicates that project_id field is enabled."),
    "pagination": ("Pagination support", "Extension that indicates that pagination is enabled."),
    "sorting": ("Sorting support", "Extension that indicates that sorting is enabled."),
    "filter-validation": ("Filter parameters validation", "Provides validation on filter parameters."),
    "empty-string-filtering": ("Empty String Filtering Extension", "Allow filtering by attributes with empty string value"),
    # security groups, quotas, RBAC, agents
    "security-group": ("security-group", "The security groups extension."),
    "stateful-security-group": ("Stateful security group", "Indicates if the security group is stateful or not"),
    "security-groups-normalized-cidr": ("Normalized CIDR field for security group rules", "Add new field with normalized remote_ip_prefix cidr in SG rule"),
    "security-groups-rules-belongs-to-default-sg": ("Security group rule belongs to the project's default security group", "Flag to determine if the security group rule belongs to the project's default security group"),
    "quotas": ("Quota management support", "Expose functions for quotas management per project"),
    "quota_details": ("Quota details management support", "Expose functions for quotas usage statistics per project"),
    "quota-check-limit": ("Quota engine limit check", "Support for checking the resource usage before applying a new quota limit"),
    "rbac-policies": ("RBAC Policies", "Allows creation and modification of policies that control tenant access to resources."),
    "rbac-security-groups": ("RBAC Security Groups", "Add security_group type to RBAC"),
    "agent": ("agent", "The agent management extension."),
    # subnets, subnet pools, IPAM and ports
    "subnet_allocation": ("Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
    "default-subnetpools": ("Default Subnetpools", "Provides ability to mark and use a subnetpool as the default."),
    "subnetpool-prefix-ops": ("Subnet Pool Prefix Operations", "Provides support for adjusting the prefix list of subnet pools"),
    "binding": ("Port Binding", "Expose port bindings of a virtual port to external application"),
    "allowed-address-pairs": ("Allowed Address Pairs", "Provides allowed address pairs"),
    "extra_dhcp_opt": ("Neutron Extra DHCP options", "Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)"),
    "port-security": ("Port Security", "Provides port security"),
    "ip-substring-filtering": ("IP address substring filtering", "Provides IP address substring filtering when listing ports"),
    "port-security-groups-filtering": ("Port filtering on security groups", "Provides security groups filtering when listing ports"),
    "network-ip-availability": ("Network IP Availability", "Provides IP availability data for each network and subnet."),
    "router": ("Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
    "ext-gw-mode": ("Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
    "extraroute": ("Neutron Extra Route", "Extra routes configuration for L3 router"),
    "extraroute-atomic": ("Atomically add/remove extra routes", "Edit extra routes of a router on server side by atomically adding/removing extra routes"),
    "fip-port-details": ("Floating IP Port Details Extension", "Add port_details attribute to Floating IP resource"),
    "router_availability_zone": ("Router Availability Zone", "Availability zone support for router."),
}


def _entry(alias: str) -> dict:
    name, description = EXTENSIONS[alias]
    return {"alias": alias, "name": name, "description": description, "updated": UPDATED, "links": []}


async def list_extensions(req: Request):
    return json_response({"extensions": [_entry(a) for a in EXTENSIONS]})


async def show_extension(req: Request):
    alias = req.path_params["alias"]
    if alias not in EXTENSIONS:
        raise NotFound(f"Extension with alias {alias} does not exist")
    return json_response({"extension": _entry(alias)})
