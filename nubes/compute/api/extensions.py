"""Handlers for GET /extensions[/{alias}] (Nova's extension_info): the v2.0-era extensions whose
features this cloud serves, in Nova's format. Nova lists every extension it ever had; this list
claims only what works here (volumes, cells, fixed IPs and the like are left out)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.compute import exceptions as exc
from nubes.compute.api import authz

# (name, alias, description), Nova's names and aliases.
SERVED: list[tuple[str, str, str]] = [
    ("AdminActions", "os-admin-actions", "Enable admin-only server actions"),
    ("Aggregates", "os-aggregates", "Admin-only aggregate administration."),
    ("AttachInterfaces", "os-attach-interfaces", "Attach interface support."),
    ("AvailabilityZone", "os-availability-zone", "1. Add availability_zone to the Create Server API.\n"
                                                 "       2. Add availability zones describing.\n    "),
    ("ConsoleOutput", "os-console-output", "Console log output support, with tailing ability."),
    ("DeferredDelete", "os-deferred-delete", "Instance deferred delete."),
    ("DiskConfig", "OS-DCF", "Disk Management Extension."),
    ("ExtendedAvailabilityZone", "OS-EXT-AZ", "Extended Availability Zone support."),
    ("ExtendedIps", "OS-EXT-IPS", "Adds type parameter to the ip list."),
    ("ExtendedIpsMac", "OS-EXT-IPS-MAC", "Adds mac address parameter to the ip list."),
    ("ExtendedServerAttributes", "OS-EXT-SRV-ATTR", "Extended Server Attributes support."),
    ("ExtendedStatus", "OS-EXT-STS", "Extended Status support."),
    ("ExtendedVolumes", "os-extended-volumes", "Extended Volumes support."),
    ("FlavorAccess", "os-flavor-access", "Flavor access support."),
    ("FlavorDisabled", "OS-FLV-DISABLED", "Support to show the disabled status of a flavor."),
    ("FlavorExtraData", "OS-FLV-EXT-DATA", "Provide additional data for flavors."),
    ("FlavorExtraSpecs", "os-flavor-extra-specs", "Flavors extra specs support."),
    ("FlavorManage", "os-flavor-manage", "Flavor create/delete API support."),
    ("FlavorRxtx", "os-flavor-rxtx", "Support to show the rxtx status of a flavor."),
    ("FlavorSwap", "os-flavor-swap", "Support to show the swap status of a flavor."),
    ("FloatingIpPools", "os-floating-ip-pools", "Floating IPs support."),
    ("FloatingIps", "os-floating-ips", "Floating IPs support."),
    ("Hypervisors", "os-hypervisors", "Admin-only hypervisor administration."),
    ("ImageSize", "OS-EXT-IMG-SIZE", "Adds image size to image listings."),
    ("Images", "images", "Proxying API for Images."),
    ("InstanceActions", "os-instance-actions", "View a log of actions and events taken on an instance."),
    ("Keypairs", "os-keypairs", "Keypair Support."),
    ("MigrateServer", "os-migrate-server", "Enable migrate and live-migrate server actions."),
    ("Migrations", "os-migrations", "Provide data on migrations."),
    ("MultipleCreate", "os-multiple-create", "Allow multiple create in the Create Server v2.1 API."),
    ("Networks", "os-networks", "Admin-only Network Management Extension."),
    ("PauseServer", "os-pause-server", "Enable pause/unpause server actions."),
    ("QuotaClasses", "os-quota-class-sets", "Quota classes management support."),
    ("Quotas", "os-quota-sets", "Quotas management support."),
    ("Rescue", "os-rescue", "Instance rescue mode."),
    ("SecurityGroups", "os-security-groups", "Security group support."),
    ("ServerDiagnostics", "os-server-diagnostics", "Allow Admins to view server diagnostics through server action."),
    ("ServerExternalEvents", "os-server-external-events", "Server External Event Triggers."),
    ("ServerGroups", "os-server-groups", "Server group support."),
    ("ServerStartStop", "os-server-start-stop", "Start/Stop instance compute API support."),
    ("ServerUsage", "OS-SRV-USG", "Adds launched_at and terminated_at on Servers."),
    ("Services", "os-services", "Services support."),
    ("Shelve", "os-shelve", "Instance shelve mode."),
    ("SimpleTenantUsage", "os-simple-tenant-usage", "Simple tenant usage extension."),
    ("SuspendServer", "os-suspend-server", "Enable suspend/resume server actions."),
    ("TenantNetworks", "os-tenant-networks", "Tenant-based Network Management Extension."),
    ("UsedLimits", "os-used-limits", "Provide data on limited resources that are being used."),
]


def _view(name: str, alias: str, description: str) -> dict[str, Any]:
    return {"name": name, "alias": alias, "description": description, "links": [],
            "namespace": "http://docs.openstack.org/compute/ext/fake_xml", "updated": "2014-12-03T00:00:00Z"}


async def list_extensions(req: Request):
    authz.own(req, f"{authz.P}:extensions")
    return json_response({"extensions": [_view(*e) for e in SERVED]})


async def show_extension(req: Request):
    authz.own(req, f"{authz.P}:extensions")
    alias = req.path_params["alias"]
    for e in SERVED:
        if e[1] == alias:
            return json_response({"extension": _view(*e)})
    raise exc.NotFound(f"Extension {alias} could not be found.")
