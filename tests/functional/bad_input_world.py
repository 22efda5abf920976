"""The resources the bad-input walk hits "with valid ids": one real thing of each kind per service.

``build_world`` creates them over plain HTTP with an admin token and returns, per service, the
value each path parameter of its route table takes (``ids``) and the valid bodies it sent
(``seeds``, by route template) for the walk to mutate. A service without a builder in
``BUILDERS`` is still walked, with bogus ids only; adding one is how a new service gets its
valid-id coverage.

Everything is made in a project, domain and user of its own, so the walk (which also PATCHes and
DELETEs what it is given) never touches the admin's user, project or token.
"""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from nubes.core.api.routing import Router
from nubes.core.exceptions import CloudError

MICROVERSION = {"compute": "compute latest", "placement": "placement latest", "volume": "volume latest"}
SSH_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1SNpfPwkAt1iStcQNzGm4zVOY8XfXDP3fOXO9AdnA "
           "fuzz@nubes")
OK = (200, 201, 202, 204)


def route_router(service: str) -> Router:
    return Router(importlib.import_module(f"nubes.{service}.api.routes").routes())


@dataclass
class ServiceWorld:
    """What one service's walk is given: a client on its port, ids by path parameter, seed bodies."""

    name: str
    http: httpx.Client
    router: Router
    ids: dict[str, str] = field(default_factory=dict)
    seeds: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    content_types: dict[tuple[str, str], str] = field(default_factory=dict)

    def call(self, method: str, path: str, body: Any = None, *, expect: tuple[int, ...] = OK,
             headers: dict[str, str] | None = None, content: bytes | None = None) -> httpx.Response:
        """One setup request; its JSON body becomes a seed of its route template."""
        kw: dict[str, Any] = {"content": content} if content is not None else {}
        if body is not None:
            kw["json"] = body
        r = self.http.request(method, path, headers=headers, **kw)
        assert r.status_code in expect, f"setup {method} {path} -> {r.status_code}: {r.text[:500]}"
        if body is not None:
            try:
                route, _ = self.router.match(method, path.split("?")[0])
            except CloudError:
                return r
            self.seed(method, route.path, body)
            if headers and "Content-Type" in headers:
                self.content_types[(method, route.path)] = headers["Content-Type"]
        return r

    def make(self, path: str, key: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
        """POST ``{key: body}`` and return the created ``key`` object."""
        return self.call("POST", path, {key: body}, **kw).json()[key]

    def seed(self, method: str, template: str, body: Any) -> None:
        self.seeds.setdefault((method, template), []).append(body)


def client(base_url: str, token: str, service: str) -> httpx.Client:
    headers = {"X-Auth-Token": token}
    if service in MICROVERSION:
        headers["OpenStack-API-Version"] = MICROVERSION[service]
    return httpx.Client(base_url=base_url, headers=headers, timeout=60)


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


def _password_auth(user_id: str, password: str, project_id: str) -> dict[str, Any]:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": user_id, "password": password}}}, "scope": {"project": {"id": project_id}}}}


def build_identity(w: ServiceWorld, auth_url: str) -> None:
    s, password = _suffix(), f"fuzz-pw-{_suffix()}"
    dom = w.make("/v3/domains", "domain", {"name": f"fuzz-dom-{s}", "description": "d"})
    proj = w.make("/v3/projects", "project", {"name": f"fuzz-proj-{s}", "domain_id": "default",
                                               "description": "p", "tags": ["fuzztag"]})
    user = w.make("/v3/users", "user", {"name": f"fuzz-user-{s}", "domain_id": "default",
                                         "password": password, "default_project_id": proj["id"]})
    group = w.make("/v3/groups", "group", {"name": f"fuzz-group-{s}", "domain_id": "default"})
    role = w.make("/v3/roles", "role", {"name": f"fuzz-role-{s}"})
    implied = w.make("/v3/roles", "role", {"name": f"fuzz-implied-{s}"})
    pid, uid = proj["id"], user["id"]
    w.call("PUT", f"/v3/roles/{role['id']}/implies/{implied['id']}", expect=(201,))
    w.call("PUT", f"/v3/groups/{group['id']}/users/{uid}")
    member = w.http.get("/v3/roles", params={"name": "member"}).json()["roles"][0]["id"]
    for role_id in (member, role["id"]):
        w.call("PUT", f"/v3/projects/{pid}/users/{uid}/roles/{role_id}")
    region = w.make("/v3/regions", "region", {"id": f"fuzz-region-{s}", "description": "r"})
    svc = w.make("/v3/services", "service", {"type": f"fuzz-{s}", "name": f"fuzz-{s}"})
    ep = w.make("/v3/endpoints", "endpoint", {"service_id": svc["id"], "interface": "public",
                                               "url": "http://127.0.0.1:1/fuzz", "region_id": region["id"]})
    cred = w.make("/v3/credentials", "credential", {"type": "cert", "user_id": uid, "project_id": pid,
                                                     "blob": "fuzz-blob"})
    ec2 = w.call("POST", f"/v3/users/{uid}/credentials/OS-EC2", {"tenant_id": pid}).json()["credential"]
    limit = {"service_id": svc["id"], "resource_name": f"fuzz-{s}", "region_id": region["id"]}
    reg = w.call("POST", "/v3/registered_limits",
                 {"registered_limits": [{**limit, "default_limit": 10}]}).json()["registered_limits"][0]
    lim = w.call("POST", "/v3/limits",
                 {"limits": [{**limit, "project_id": pid, "resource_limit": 5}]}).json()["limits"][0]
    # An application credential is made by its own user only.
    r = httpx.post(f"{auth_url}/auth/tokens", json=_password_auth(uid, password, pid), timeout=30)
    assert r.status_code == 201, r.text
    user_token = {"X-Auth-Token": r.headers["x-subject-token"]}
    app = w.make(f"/v3/users/{uid}/application_credentials", "application_credential",
                 {"name": f"fuzz-app-{s}", "description": "a", "access_rules": [
                     {"service": "compute", "method": "GET", "path": "/v2.1/servers"}]},
                 headers=user_token)
    # A trust is made by its trustor only.
    trustee = w.make("/v3/users", "user", {"name": f"fuzz-trustee-{s}", "domain_id": "default"})
    trust = w.make("/v3/OS-TRUST/trusts", "trust", {
        "trustor_user_id": uid, "trustee_user_id": trustee["id"], "impersonation": False,
        "project_id": pid, "roles": [{"id": member}]}, headers=user_token)
    w.seed("POST", "/v3/auth/tokens", _password_auth(uid, password, pid))
    w.seed("POST", "/v3/users/{user_id}/password",
           {"user": {"original_password": password, "password": password + "x"}})
    w.ids.update(domain_id=dom["id"], project_id=pid, user_id=uid, group_id=group["id"], role_id=role["id"],
                 prior_role_id=role["id"], implied_role_id=implied["id"], tag="fuzztag", target="projects",
                 target_id=pid, actor="users", actor_id=uid, region_id=region["id"], service_id=svc["id"],
                 endpoint_id=ep["id"], credential_id=cred["id"], access=ec2["access"],
                 registered_limit_id=reg["id"], limit_id=lim["id"], app_cred_id=app["id"],
                 trust_id=trust["id"], access_rule_id=app["access_rules"][0]["id"])


def build_image(w: ServiceWorld, project_id: str) -> None:
    s = _suffix()
    raw = {"disk_format": "raw", "container_format": "bare"}
    img = w.call("POST", "/v2/images", {"name": f"fuzz-img-{s}", **raw, "visibility": "shared", "min_ram": 1,
                                        "min_disk": 1, "tags": ["fuzztag"], "fuzz_property": "v"}).json()
    w.call("PATCH", f"/v2/images/{img['id']}", [{"op": "replace", "path": "/min_ram", "value": 2},
                                               {"op": "add", "path": "/fuzz_other", "value": "w"}],
           headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    w.call("POST", f"/v2/images/{img['id']}/members", {"member": project_id})
    boot = w.call("POST", "/v2/images", {"name": f"fuzz-boot-{s}", **raw, "visibility": "public"}).json()
    w.call("PUT", f"/v2/images/{boot['id']}/file", content=b"\0" * 4096,
           headers={"Content-Type": "application/octet-stream"})
    w.seed("PUT", "/v2/images/{image_id}/members/{member_id}", {"status": "accepted"})
    w.seed("POST", "/v2/images/{image_id}/import", {"method": {"name": "glance-direct"}})
    w.ids.update(image_id=img["id"], member_id=project_id, tag="fuzztag", boot_image_id=boot["id"])


def build_placement(w: ServiceWorld) -> None:
    rp, consumer, s = str(uuid.uuid4()), str(uuid.uuid4()), _suffix().upper()

    def generation() -> int:
        return w.http.get(f"/resource_providers/{rp}").json()["generation"]

    w.call("POST", "/resource_providers", {"name": f"fuzz-rp-{s}", "uuid": rp})
    w.call("PUT", f"/resource_providers/{rp}/inventories", {
        "resource_provider_generation": generation(),
        "inventories": {"VCPU": {"total": 8, "allocation_ratio": 1.0}, "MEMORY_MB": {"total": 4096}}})
    w.call("PUT", f"/resource_classes/CUSTOM_FUZZ_{s}", expect=(201, 204))
    w.call("PUT", f"/traits/CUSTOM_FUZZ_{s}", expect=(201, 204))
    w.call("PUT", f"/resource_providers/{rp}/traits",
           {"resource_provider_generation": generation(), "traits": [f"CUSTOM_FUZZ_{s}"]})
    w.call("PUT", f"/resource_providers/{rp}/aggregates",
           {"resource_provider_generation": generation(), "aggregates": [str(uuid.uuid4())]})
    project = str(uuid.uuid4())
    w.call("PUT", f"/allocations/{consumer}", {
        "allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": project, "user_id": project,
        "consumer_type": "INSTANCE", "consumer_generation": None}, expect=(204,))
    w.seed("PUT", "/resource_providers/{uuid}/inventories/{resource_class}",
           {"resource_provider_generation": 0, "total": 4})
    w.seed("PUT", "/resource_providers/{uuid}", {"name": f"fuzz-rp2-{s}"})
    w.ids.update(uuid=rp, resource_class="VCPU", consumer_uuid=consumer, name=f"CUSTOM_FUZZ_{s}")


def build_network(w: ServiceWorld, project_id: str) -> None:
    s, V = _suffix(), "/v2.0"
    ext = w.make(f"{V}/networks", "network", {"name": f"fuzz-ext-{s}", "router:external": True})
    w.make(f"{V}/subnets", "subnet", {"network_id": ext["id"], "cidr": "203.0.113.0/24", "ip_version": 4,
                                       "name": f"fuzz-extsub-{s}"})
    net = w.make(f"{V}/networks", "network", {"name": f"fuzz-net-{s}", "mtu": 1400, "description": "n"})
    sub = w.make(f"{V}/subnets", "subnet", {"network_id": net["id"], "cidr": "10.99.0.0/24", "ip_version": 4,
                                             "name": f"fuzz-sub-{s}"})
    pool = w.make(f"{V}/subnetpools", "subnetpool", {"name": f"fuzz-pool-{s}", "prefixes": ["10.200.0.0/16"],
                                                      "default_prefixlen": 24})
    port = w.make(f"{V}/ports", "port", {"network_id": net["id"], "name": f"fuzz-port-{s}",
                                          "fixed_ips": [{"subnet_id": sub["id"]}]})
    sg = w.make(f"{V}/security-groups", "security_group", {"name": f"fuzz-sg-{s}"})
    rule = w.make(f"{V}/security-group-rules", "security_group_rule", {
        "security_group_id": sg["id"], "direction": "ingress", "protocol": "tcp", "port_range_min": 22,
        "port_range_max": 22, "ethertype": "IPv4"})
    router = w.make(f"{V}/routers", "router", {"name": f"fuzz-router-{s}",
                                                "external_gateway_info": {"network_id": ext["id"]}})
    fip = w.make(f"{V}/floatingips", "floatingip", {"floating_network_id": ext["id"]})
    rbac = w.make(f"{V}/rbac-policies", "rbac_policy", {
        "object_type": "network", "object_id": net["id"], "action": "access_as_shared",
        "target_tenant": project_id})
    w.call("PUT", f"{V}/quotas/{project_id}", {"quota": {"network": 50, "port": 100}})
    w.call("PUT", f"{V}/networks/{net['id']}/tags/fuzztag", expect=(201, 204))
    w.seed("PUT", f"{V}/routers/{{router_id}}/add_router_interface", {"subnet_id": sub["id"]})
    w.seed("PUT", f"{V}/routers/{{router_id}}/add_extraroutes",
           {"router": {"routes": [{"destination": "10.1.0.0/24", "nexthop": "10.99.0.5"}]}})
    w.seed("PUT", f"{V}/subnetpools/{{subnetpool_id}}/add_prefixes", {"prefixes": ["10.201.0.0/16"]})
    w.ids.update(network_id=net["id"], subnet_id=sub["id"], subnetpool_id=pool["id"], port_id=port["id"],
                 security_group_id=sg["id"], security_group_rule_id=rule["id"], router_id=router["id"],
                 floatingip_id=fip["id"], rbac_policy_id=rbac["id"], project_id=project_id,
                 collection="networks", resource_id=net["id"], tag="fuzztag", alias="router")
    agents = w.http.get(f"{V}/agents").json().get("agents", [])
    if agents:
        w.ids["agent_id"] = agents[0]["id"]


def build_compute(w: ServiceWorld, project_id: str, image_id: str, network_id: str) -> None:
    s, V = _suffix(), "/v2.1"
    fl = w.make(f"{V}/flavors", "flavor", {"name": f"fuzz-flavor-{s}", "ram": 64, "vcpus": 1, "disk": 1,
                                            "os-flavor-access:is_public": False})
    w.call("POST", f"{V}/flavors/{fl['id']}/os-extra_specs", {"extra_specs": {"hw:cpu_policy": "shared"}})
    w.call("POST", f"{V}/flavors/{fl['id']}/action", {"addTenantAccess": {"tenant": project_id}})
    w.call("PUT", f"{V}/flavors/{fl['id']}", {"flavor": {"description": "fuzz"}})
    kp = w.make(f"{V}/os-keypairs", "keypair", {"name": f"fuzz-key-{s}", "public_key": SSH_KEY})
    group = w.make(f"{V}/os-server-groups", "server_group",
                   {"name": f"fuzz-group-{s}", "policy": "anti-affinity"})
    agg = w.make(f"{V}/os-aggregates", "aggregate", {"name": f"fuzz-agg-{s}", "availability_zone": None})
    w.call("POST", f"{V}/os-aggregates/{agg['id']}/action", {"set_metadata": {"metadata": {"k": "v"}}})
    server = w.make(f"{V}/servers", "server", {
        "name": f"fuzz-server-{s}", "flavorRef": fl["id"], "imageRef": image_id,
        "networks": [{"uuid": network_id}], "metadata": {"k": "v"}, "key_name": kp["name"]}, expect=(202,))
    sid = server["id"]
    w.call("PUT", f"{V}/servers/{sid}/tags/fuzztag", expect=(201, 204))
    w.call("PUT", f"{V}/servers/{sid}", {"server": {"description": "fuzz"}})
    w.call("POST", f"{V}/servers/{sid}/action", {"os-stop": None}, expect=(202, 409))
    w.call("PUT", f"{V}/os-quota-sets/{project_id}", {"quota_set": {"instances": 20, "cores": 40}})
    actions = w.http.get(f"{V}/servers/{sid}/os-instance-actions").json()["instanceActions"]
    w.ids.update(flavor_id=fl["id"], key="hw:cpu_policy", name=kp["name"], group_id=group["id"],
                 aggregate_id=str(agg["id"]), server_id=sid, project_id=project_id, class_name="default",
                 tag="fuzztag", request_id=actions[0]["request_id"] if actions else "req-x")
    services = w.http.get(f"{V}/os-services").json()["services"]
    hypervisors = w.http.get(f"{V}/os-hypervisors").json()["hypervisors"]
    if services:
        w.ids["service_id"] = str(services[0]["id"])
    if hypervisors:
        w.ids.update(hypervisor_id=str(hypervisors[0]["id"]), pattern=hypervisors[0]["hypervisor_hostname"])


def build_volume(w: ServiceWorld, project_id: str) -> None:
    s, V = _suffix(), "/v3"
    vt = w.make(f"{V}/types", "volume_type", {"name": f"fuzz-type-{s}", "os-volume-type-access:is_public": False,
                                               "extra_specs": {"fuzzkey": "v"}})
    w.call("POST", f"{V}/types/{vt['id']}/action", {"addProjectAccess": {"project": project_id}}, expect=(202,))
    w.call("POST", f"{V}/types/{vt['id']}/extra_specs", {"extra_specs": {"fuzzkey": "v2"}})
    w.call("PUT", f"{V}/types/{vt['id']}", {"volume_type": {"description": "fuzz"}})
    vol = w.make(f"{V}/volumes", "volume", {"size": 1, "name": f"fuzz-vol-{s}", "metadata": {"k": "v"}},
                 expect=(202,))
    w.call("PUT", f"{V}/volumes/{vol['id']}", {"volume": {"description": "fuzz"}})
    for _ in range(300):            # the fake backend creates it at once; snapshots need it available
        if w.http.get(f"{V}/volumes/{vol['id']}").json()["volume"]["status"] == "available":
            break
        time.sleep(0.05)
    snap = w.make(f"{V}/snapshots", "snapshot", {"volume_id": vol["id"], "name": f"fuzz-snap-{s}",
                                                 "metadata": {"k": "v"}}, expect=(202,))
    w.call("PUT", f"{V}/snapshots/{snap['id']}", {"snapshot": {"description": "fuzz"}})
    w.call("POST", f"{V}/volumes/{vol['id']}/metadata", {"metadata": {"k": "v"}})
    for _ in range(300):
        if w.http.get(f"{V}/snapshots/{snap['id']}").json()["snapshot"]["status"] == "available":
            break
        time.sleep(0.05)
    backup = w.make(f"{V}/backups", "backup", {"volume_id": vol["id"], "name": f"fuzz-backup-{s}"}, expect=(202,))
    for _ in range(300):
        if w.http.get(f"{V}/backups/{backup['id']}").json()["backup"]["status"] == "available":
            break
        time.sleep(0.05)
    given = w.make(f"{V}/volumes", "volume", {"size": 1, "name": f"fuzz-given-{s}"}, expect=(202,))
    for _ in range(300):
        if w.http.get(f"{V}/volumes/{given['id']}").json()["volume"]["status"] == "available":
            break
        time.sleep(0.05)
    transfer = w.make(f"{V}/volume-transfers", "transfer", {"volume_id": given["id"], "name": f"fuzz-t-{s}"},
                      expect=(202,))
    qos = w.make(f"{V}/qos-specs", "qos_specs", {"name": f"fuzz-qos-{s}", "k": "v"})
    w.call("GET", f"{V}/qos-specs/{qos['id']}/associate?vol_type_id={vt['id']}", None, expect=(202,))
    w.call("PUT", f"{V}/os-quota-sets/{project_id}", {"quota_set": {"volumes": 50}})
    w.call("PUT", f"{V}/default-types/{project_id}", {"default_type": {"volume_type": "__DEFAULT__"}},
           headers={"OpenStack-API-Version": "volume 3.62"})
    w.ids.update(type_id=vt["id"], volume_id=vol["id"], snapshot_id=snap["id"], backup_id=backup["id"], transfer_id=transfer["id"], qos_id=qos["id"], key="k", project_id=project_id, class_name="default",
                 action="enable")
    messages = w.http.get(f"{V}/messages").json().get("messages", [])
    w.ids["message_id"] = messages[0]["id"] if messages else "00000000-0000-0000-0000-000000000000"


def build_object(w: ServiceWorld, auth_url: str) -> None:
    """A container and an object in the walking token's own account (AUTH_<its project>)."""
    token = w.http.headers["X-Auth-Token"]
    r = httpx.get(f"{auth_url}/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token})
    account, s = f"AUTH_{r.json()['token']['project']['id']}", _suffix()
    container, obj = f"fuzz-c-{s}", f"fuzz/o-{s}"
    w.call("PUT", f"/v1/{account}/{container}", headers={"X-Container-Meta-K": "v"})
    w.call("PUT", f"/v1/{account}/{container}/{obj}", content=b"fuzz",
           headers={"Content-Type": "text/plain", "X-Object-Meta-K": "v"})
    w.ids.update(account=account, container=container, obj=obj)


# service name -> builder(world, context); the context carries what earlier services made.
BUILDERS: dict[str, Callable[[ServiceWorld, dict[str, str]], None]] = {
    "identity": lambda w, ctx: build_identity(w, ctx["auth_url"]),
    "image": lambda w, ctx: build_image(w, ctx["project_id"]),
    "placement": lambda w, ctx: build_placement(w),
    "network": lambda w, ctx: build_network(w, ctx["project_id"]),
    "compute": lambda w, ctx: build_compute(w, ctx["project_id"], ctx["image_id"], ctx["network_id"]),
    "volume": lambda w, ctx: build_volume(w, ctx["project_id"]),
    "object": lambda w, ctx: build_object(w, ctx["auth_url"]),
}


def build_world(cloud: Any, token: str, services: list[str]) -> dict[str, ServiceWorld]:
    worlds = {name: ServiceWorld(name, client(cloud.url(name), token, name), route_router(name))
              for name in services}
    ctx: dict[str, str] = {"auth_url": cloud.auth_url}
    for name in services:
        if name not in BUILDERS:
            continue
        BUILDERS[name](worlds[name], ctx)
        ids = worlds[name].ids
        ctx.setdefault("project_id", ids.get("project_id", ""))
        if name == "image":
            ctx["image_id"] = ids["boot_image_id"]
        if name == "network":
            ctx["network_id"] = ids["network_id"]
    return worlds
