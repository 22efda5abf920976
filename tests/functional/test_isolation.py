"""Cross-project isolation, for every resource type of every service, from one table (``KINDS``).

Two projects, A and B, each with a member and a reader. For each kind of resource A's member
makes one; then, as upstream answers with its current defaults (scope enforced):
  * B's member and B's reader can neither see it (absent from their lists) nor show, change,
    delete or use it: 404 (or 403 where upstream answers so: Keystone's rules, placement);
  * A's reader sees it (lists and shows it) and may not change, delete or make one: 403;
  * a domain-scoped and an unscoped token get what the service gives them (``Scoped``).

Object storage's rows (containers, objects) answer as Swift's keystoneauth does: 403 to anyone whose
token does not give them the account. A new service extends this module with one ``Kind`` per resource type: how to
make one as A's member, its list, show, update, delete and use calls, and what upstream
answers. Calls are written as the service's API reference writes them; ``{id}`` is the
resource, ``{uniq}`` a fresh name, ``{n}`` a fresh number and ``{<name>}`` one of the world's
ids (``World``).
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.functional.rbac_world import Http, People, Person, unique, wait_services

_COUNTER = itertools.count(1)
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


@dataclass(frozen=True)
class Call:
    service: str
    method: str
    path: str
    body: Any = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Scoped:
    """What a domain-scoped or an unscoped token gets: the list's status (a 200 never shows A's
    resource), showing A's resource, making one of its own, and changing (update, delete) A's."""

    listing: int | None
    show: int | None
    create: int | None
    change: int | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    make: Call                                  # as A's member
    created: Callable[[dict[str, Any]], str]    # the new resource's id, from make's answer
    listing: tuple[Call, Callable[[dict[str, Any]], list[str]]] | None
    show: Call | None
    update: Call | None = None
    delete: Call | None = None
    use: Call | None = None                     # another project using it (a port on a network ...)
    create: Call | None = None                  # one more in the caller's own project
    foreign: int = 404
    reader_write: int = 403
    # key pairs belong to a user, not a project: A's reader is another user, who sees none of
    # the member's key pairs and may make (and manage) its own
    per_user: bool = False
    reader_create: int | None = None            # default: reader_write
    # B's reader using A's resource through one of B's own (an interface on B's router): the
    # policy refuses the reader's write (403) before anything looks at A's resource
    reader_use: int | None = None               # default: foreign
    # B's reader updating or deleting A's resource where the rule is checked against the caller's
    # own project before anything is looked up (Nova's proxy APIs): 403
    reader_change: int | None = None            # default: foreign
    domain: Scoped = Scoped(None, None, None)
    unscoped: Scoped = Scoped(None, None, None)
    # a listing inside A's resource (the objects of A's container) is refused to B, not empty
    foreign_listing: int | None = None


def _ids(key: str, inner: str = "id") -> Callable[[dict[str, Any]], list[str]]:
    return lambda body: [item[inner] for item in body[key]]


def _neutron(resource: str, plural: str, body: dict[str, Any], *, use: Call | None = None,
             update: dict[str, Any] | None = None, **kw: Any) -> Kind:
    path = f"/v2.0/{plural}"
    return Kind(
        resource, Call("network", "POST", path, {resource: body}), lambda b: b[resource]["id"],
        (Call("network", "GET", path), _ids(plural.replace("-", "_"))),
        Call("network", "GET", f"{path}/{{id}}"),
        Call("network", "PUT", f"{path}/{{id}}", {resource: update or {"name": "renamed"}}),
        Call("network", "DELETE", f"{path}/{{id}}"), use,
        Call("network", "POST", path, {resource: body}),
        # Neutron: a token without a project must name one (400); lists show it nothing of A's;
        # a GET the policy refuses is a 404 ("pretend it does not exist").
        domain=Scoped(200, 404, 400, 404), unscoped=Scoped(200, 404, 400, 404), **kw)


def _public_key() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


# Object storage: A's account is /v1/AUTH_<A's project>; Swift's keystoneauth answers 403 to anyone
# authenticated whose token does not give them that account (B, and tokens of no project), and to
# A's reader for a write. A container and an object are made once per module under fixed names.
ISO_CONTAINER, ISO_OBJECT = unique("iso-c"), unique("iso-o")
SWIFT_NOT_SCOPED = Scoped(None, 403, 403, 403)
META = {"X-Container-Meta-Color": "red", "X-Object-Meta-Color": "red"}


def _swift(name: str, path: str, listing: tuple[Call, Callable[[Any], list[str]]], rid: str,
           create: str, use: Call | None = None, foreign_listing: int | None = None) -> Kind:
    return Kind(name, Call("object", "PUT", path.replace("{id}", rid)), lambda _b: rid, listing,
                Call("object", "GET", path + "?format=json") if name == "container" else Call("object", "GET", path),
                Call("object", "POST", path, headers=META), Call("object", "DELETE", path), use,
                Call("object", "PUT", create), foreign=403, domain=SWIFT_NOT_SCOPED, unscoped=SWIFT_NOT_SCOPED,
                foreign_listing=foreign_listing)


NOT_SCOPED_FOR_NOVA = Scoped(403, 404, 403, 404)   # project-scoped rules; A's server is not found first
PROXY = {"OpenStack-API-Version": "compute 2.35"}     # Nova's proxy APIs end at 2.35
PROXY_NOT_SCOPED = Scoped(403, 403, 403, 403)       # their rules are checked on the caller's project first

KINDS: list[Kind] = [
    # -- image (Glance) ------------------------------------------------------------------------
    Kind("image", Call("image", "POST", "/v2/images", {"name": "{uniq}", "visibility": "private",
                                                        "disk_format": "raw", "container_format": "bare"}),
         lambda b: b["id"], (Call("image", "GET", "/v2/images"), _ids("images")),
         Call("image", "GET", "/v2/images/{id}"),
         Call("image", "PATCH", "/v2/images/{id}", [{"op": "replace", "path": "/name", "value": "x"}], PATCH),
         Call("image", "DELETE", "/v2/images/{id}"), Call("image", "GET", "/v2/images/{id}/file"),
         Call("image", "POST", "/v2/images", {"name": "{uniq}", "disk_format": "raw",
                                              "container_format": "bare"}),
         # Glance's rules take project scope only and need the reader role: both tokens get 403
         # for the list and a create; an image they may not get is a 404.
         domain=Scoped(403, 404, 403, 404), unscoped=Scoped(403, 404, 403, 404)),
    Kind("image member", Call("image", "POST", "/v2/images", {"name": "{uniq}", "visibility": "shared",
                                                               "disk_format": "raw",
                                                               "container_format": "bare"}),
         lambda b: b["id"], None, Call("image", "GET", "/v2/images/{id}/members"),
         Call("image", "PUT", "/v2/images/{id}/members/{c_project}", {"status": "accepted"}),
         Call("image", "DELETE", "/v2/images/{id}/members/{c_project}"),
         Call("image", "POST", "/v2/images/{id}/members", {"member": "{b_project}"}),
         Call("image", "POST", "/v2/images/{id}/members", {"member": "{d_project}"}),
         domain=Scoped(None, 404, 404, 404), unscoped=Scoped(None, 404, 404, 404)),
    # -- network (Neutron) ---------------------------------------------------------------------
    _neutron("network", "networks", {"name": "{uniq}"},
             use=Call("network", "POST", "/v2.0/ports", {"port": {"network_id": "{id}"}})),
    _neutron("subnet", "subnets", {"network_id": "{a_network}", "cidr": "10.31.{n}.0/24", "ip_version": 4},
             use=Call("network", "POST", "/v2.0/subnets", {"subnet": {
                 "network_id": "{a_network}", "cidr": "10.32.{n}.0/24", "ip_version": 4}})),
    _neutron("port", "ports", {"network_id": "{a_network}"},
             use=Call("network", "PUT", "/v2.0/routers/{b_router}/add_router_interface", {"port_id": "{id}"}),
             reader_use=403),
    _neutron("security_group", "security-groups", {"name": "{uniq}"},
             use=Call("network", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
                 "security_group_id": "{id}", "direction": "ingress"}})),
    Kind("security_group_rule",
         Call("network", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "{a_sg}", "direction": "ingress", "protocol": "tcp",
             "port_range_min": "{n}", "port_range_max": "{n}"}}),
         lambda b: b["security_group_rule"]["id"],
         (Call("network", "GET", "/v2.0/security-group-rules"), _ids("security_group_rules")),
         Call("network", "GET", "/v2.0/security-group-rules/{id}"), None,
         Call("network", "DELETE", "/v2.0/security-group-rules/{id}"), None,
         Call("network", "POST", "/v2.0/security-group-rules", {"security_group_rule": {
             "security_group_id": "{a_sg}", "direction": "egress", "protocol": "udp",
             "port_range_min": "{n}", "port_range_max": "{n}"}}),
         domain=Scoped(200, 404, 400, 404), unscoped=Scoped(200, 404, 400, 404)),
    _neutron("router", "routers", {"name": "{uniq}"},
             use=Call("network", "PUT", "/v2.0/routers/{id}/add_router_interface", {"subnet_id": "{b_subnet}"})),
    _neutron("floatingip", "floatingips", {"floating_network_id": "{ext_network}"},
             update={"description": "renamed"}),
    _neutron("subnetpool", "subnetpools", {"name": "{uniq}", "prefixes": ["10.{n}.0.0/16"],
                                           "default_prefixlen": 24},
             use=Call("network", "POST", "/v2.0/subnets", {"subnet": {
                 "network_id": "{b_network}", "subnetpool_id": "{id}", "ip_version": 4}}), reader_use=403),
    _neutron("rbac_policy", "rbac-policies", {"object_type": "network", "object_id": "{a_network}",
                                              "action": "access_as_shared", "target_tenant": "{c_project}"},
             update={"target_tenant": "{d_project}"}),
    # -- compute (Nova) ------------------------------------------------------------------------
    Kind("server", Call("compute", "POST", "/servers", {"server": {
             "name": "{uniq}", "flavorRef": "{flavor}", "imageRef": "{image}",
             "networks": [{"uuid": "{a_network}"}]}}),
         lambda b: b["server"]["id"], (Call("compute", "GET", "/servers"), _ids("servers")),
         Call("compute", "GET", "/servers/{id}"),
         Call("compute", "PUT", "/servers/{id}", {"server": {"name": "renamed"}}),
         Call("compute", "DELETE", "/servers/{id}"),
         Call("compute", "POST", "/servers/{id}/action", {"os-stop": None}),
         Call("compute", "POST", "/servers", {"server": {
             "name": "{uniq}", "flavorRef": "{flavor}", "imageRef": "{image}", "networks": "none"}}),
         domain=NOT_SCOPED_FOR_NOVA, unscoped=NOT_SCOPED_FOR_NOVA),
    # Nova's key pair rules are "admin or the owning user", project scope: an unscoped token
    # (project scope to oslo.policy) manages its user's key pairs; a domain-scoped one gets 403.
    Kind("keypair", Call("compute", "POST", "/os-keypairs", {"keypair": {"name": "{uniq}",
                                                                       "public_key": "{public_key}"}}),
         lambda b: b["keypair"]["name"],
         (Call("compute", "GET", "/os-keypairs"), lambda b: [k["keypair"]["name"] for k in b["keypairs"]]),
         Call("compute", "GET", "/os-keypairs/{id}"), None, Call("compute", "DELETE", "/os-keypairs/{id}"),
         None, Call("compute", "POST", "/os-keypairs", {"keypair": {"name": "{uniq}",
                                                                    "public_key": "{public_key}"}}),
         per_user=True, reader_create=201,
         domain=Scoped(403, 403, 403, 403), unscoped=Scoped(200, 404, 201, 404)),
    Kind("server_group", Call("compute", "POST", "/os-server-groups", {"server_group": {
             "name": "{uniq}", "policy": "anti-affinity"}}),
         lambda b: b["server_group"]["id"], (Call("compute", "GET", "/os-server-groups"), _ids("server_groups")),
         Call("compute", "GET", "/os-server-groups/{id}"), None,
         Call("compute", "DELETE", "/os-server-groups/{id}"), None,
         Call("compute", "POST", "/os-server-groups", {"server_group": {"name": "{uniq}",
                                                                      "policy": "affinity"}}),
         domain=NOT_SCOPED_FOR_NOVA, unscoped=NOT_SCOPED_FOR_NOVA),
    # Nova's proxy APIs (below 2.36): the network service decides with the caller's token
    Kind("compute_floating_ip", Call("compute", "POST", "/os-floating-ips", {"pool": "{ext_network}"}, PROXY),
         lambda b: b["floating_ip"]["id"],
         (Call("compute", "GET", "/os-floating-ips", None, PROXY), _ids("floating_ips")),
         Call("compute", "GET", "/os-floating-ips/{id}", None, PROXY), None,
         Call("compute", "DELETE", "/os-floating-ips/{id}", None, PROXY), None,
         Call("compute", "POST", "/os-floating-ips", {"pool": "{ext_network}"}, PROXY),
         reader_change=403, domain=PROXY_NOT_SCOPED, unscoped=PROXY_NOT_SCOPED),
    Kind("compute_security_group", Call("compute", "POST", "/os-security-groups", {"security_group": {
             "name": "{uniq}", "description": ""}}, PROXY),
         lambda b: b["security_group"]["id"],
         (Call("compute", "GET", "/os-security-groups", None, PROXY), _ids("security_groups")),
         Call("compute", "GET", "/os-security-groups/{id}", None, PROXY),
         Call("compute", "PUT", "/os-security-groups/{id}", {"security_group": {
             "name": "renamed", "description": ""}}, PROXY),
         Call("compute", "DELETE", "/os-security-groups/{id}", None, PROXY),
         Call("compute", "POST", "/os-security-group-rules", {"security_group_rule": {
             "parent_group_id": "{id}", "ip_protocol": "tcp", "from_port": 1, "to_port": 2}}, PROXY),
         Call("compute", "POST", "/os-security-groups", {"security_group": {
             "name": "{uniq}", "description": ""}}, PROXY),
         reader_use=403, reader_change=403, domain=PROXY_NOT_SCOPED, unscoped=PROXY_NOT_SCOPED),
    # -- identity (Keystone) and placement: their rules answer 403, not 404 -------------------
    # -- block storage (Cinder) ----------------------------------------------------------------
    Kind("volume", Call("volume", "POST", "/volumes", {"volume": {"size": 1, "name": "{uniq}"}}),
         lambda b: b["volume"]["id"], (Call("volume", "GET", "/volumes"), _ids("volumes")),
         Call("volume", "GET", "/volumes/{id}"),
         Call("volume", "PUT", "/volumes/{id}", {"volume": {"name": "renamed"}}),
         Call("volume", "DELETE", "/volumes/{id}"), Call("volume", "GET", "/volumes/{id}/metadata"),
         Call("volume", "POST", "/volumes", {"volume": {"size": 1, "name": "{uniq}"}}),
         domain=NOT_SCOPED_FOR_NOVA, unscoped=NOT_SCOPED_FOR_NOVA),
    Kind("snapshot", Call("volume", "POST", "/snapshots", {"snapshot": {"volume_id": "{a_volume}", "name": "{uniq}"}}),
         lambda b: b["snapshot"]["id"], (Call("volume", "GET", "/snapshots"), _ids("snapshots")),
         Call("volume", "GET", "/snapshots/{id}"),
         Call("volume", "PUT", "/snapshots/{id}", {"snapshot": {"name": "renamed"}}),
         Call("volume", "DELETE", "/snapshots/{id}"), Call("volume", "GET", "/snapshots/{id}/metadata"),
         Call("volume", "POST", "/snapshots", {"snapshot": {"volume_id": "{a_volume}", "name": "{uniq}"}}),
         domain=NOT_SCOPED_FOR_NOVA, unscoped=NOT_SCOPED_FOR_NOVA),
    Kind("backup", Call("volume", "POST", "/backups", {"backup": {"volume_id": "{a_backup_volume}", "name": "{uniq}"}}),
         lambda b: b["backup"]["id"], (Call("volume", "GET", "/backups"), _ids("backups")),
         Call("volume", "GET", "/backups/{id}"),
         Call("volume", "PUT", "/backups/{id}", {"backup": {"name": "renamed"}}),
         Call("volume", "DELETE", "/backups/{id}"),
         Call("volume", "POST", "/backups/{id}/restore", {"restore": {"name": "{uniq}"}}),
         Call("volume", "POST", "/backups", {"backup": {"volume_id": "{a_backup_volume}", "name": "{uniq}"}}),
         domain=NOT_SCOPED_FOR_NOVA, unscoped=NOT_SCOPED_FOR_NOVA),
    # accepting is for other projects by design (with the key); the rest is the owner's
    Kind("volume_transfer", Call("volume", "POST", "/volume-transfers", {"transfer": {
             "volume_id": "{a_transfer_volume}", "name": "{uniq}"}}),
         lambda b: b["transfer"]["id"], (Call("volume", "GET", "/volume-transfers"), _ids("transfers")),
         Call("volume", "GET", "/volume-transfers/{id}"), None,
         Call("volume", "DELETE", "/volume-transfers/{id}"), None,
         Call("volume", "POST", "/volume-transfers", {"transfer": {"volume_id": "{a_transfer_volume}"}}),
         domain=NOT_SCOPED_FOR_NOVA, unscoped=NOT_SCOPED_FOR_NOVA),
    Kind("project", Call("identity", "GET", "/v3/projects/{a_project}"), lambda b: b["project"]["id"], None,
         Call("identity", "GET", "/v3/projects/{id}"),
         Call("identity", "PATCH", "/v3/projects/{id}", {"project": {"description": "x"}}),
         Call("identity", "DELETE", "/v3/projects/{id}"), None, None, foreign=403,
         # a domain's reader (the domain member) reads its domain's projects; unscoped: no project
         domain=Scoped(None, 200, None, 403), unscoped=Scoped(None, 403, None, 403)),
    Kind("credential", Call("identity", "POST", "/v3/credentials", {"credential": {
             "user_id": "{me}", "type": "cert", "blob": "{uniq}"}}),
         lambda b: b["credential"]["id"], None, Call("identity", "GET", "/v3/credentials/{id}"),
         Call("identity", "PATCH", "/v3/credentials/{id}", {"credential": {"blob": "x"}}),
         Call("identity", "DELETE", "/v3/credentials/{id}"), None, None, foreign=403, per_user=True,
         domain=Scoped(None, 403, None, 403), unscoped=Scoped(None, 403, None, 403)),
    # a trust and an access rule belong to their user: A's reader is another user
    Kind("trust", Call("identity", "POST", "/v3/OS-TRUST/trusts", {"trust": {
             "trustor_user_id": "{me}", "trustee_user_id": "{trustee}", "impersonation": False,
             "project_id": "{a_project}", "roles": [{"name": "reader"}]}}),
         lambda b: b["trust"]["id"],
         (Call("identity", "GET", "/v3/OS-TRUST/trusts?trustor_user_id={me}"), _ids("trusts")),
         Call("identity", "GET", "/v3/OS-TRUST/trusts/{id}"), None,
         Call("identity", "DELETE", "/v3/OS-TRUST/trusts/{id}"), None,
         Call("identity", "POST", "/v3/OS-TRUST/trusts", {"trust": {
             "trustor_user_id": "{me}", "trustee_user_id": "{trustee}", "impersonation": False,
             "project_id": "{a_project}", "roles": [{"name": "reader"}]}}),
         foreign=403, per_user=True, reader_create=201,
         # unscoped: policy checks as for a project token (oslo.policy); the trustor holds no
         # role on A's project, so the roles are not found (Keystone's RoleNotFound, 404)
         domain=Scoped(None, 403, 403, 403), unscoped=Scoped(None, 403, 404, 403)),
    Kind("access_rule", Call("identity", "POST", "/v3/users/{me}/application_credentials", {
             "application_credential": {"name": "{uniq}", "access_rules": [
                 {"service": "compute", "method": "GET", "path": "/v2.1/servers/{uniq}"}]}}),
         lambda b: b["application_credential"]["access_rules"][0]["id"],
         (Call("identity", "GET", "/v3/users/{me}/access_rules"), _ids("access_rules")),
         Call("identity", "GET", "/v3/users/{me}/access_rules/{id}"), None,
         Call("identity", "DELETE", "/v3/users/{me}/access_rules/{id}"), None, None,
         foreign=404, per_user=True,
         domain=Scoped(None, 403, None, 403), unscoped=Scoped(None, 404, None, 404)),
    Kind("usage", Call("identity", "GET", "/v3/projects/{a_project}"), lambda b: b["project"]["id"], None,
         Call("placement", "GET", "/usages?project_id={id}"), foreign=403,
         domain=Scoped(None, 403, None), unscoped=Scoped(None, 403, None)),
]


KINDS += [
    # -- object storage (Swift) ----------------------------------------------------------------
    _swift("container", "/v1/AUTH_{a_project}/{id}",
           (Call("object", "GET", "/v1/AUTH_{my_project}?format=json"), lambda b: [c["name"] for c in b]),
           ISO_CONTAINER, "/v1/AUTH_{my_project}/{uniq}",
           use=Call("object", "PUT", "/v1/AUTH_{a_project}/{id}/{uniq}")),
    _swift("object", "/v1/AUTH_{a_project}/{a_container}/{id}",
           (Call("object", "GET", "/v1/AUTH_{a_project}/{a_container}?format=json"),
            lambda b: [o["name"] for o in b]),
           ISO_OBJECT, "/v1/AUTH_{a_project}/{a_container}/{uniq}",
           use=Call("object", "COPY", "/v1/AUTH_{a_project}/{a_container}/{id}",
                    headers={"Destination": "{a_container}/{uniq}"}), foreign_listing=403),
]


# ---------------------------------------------------------------- the world

@dataclass
class World:
    http: Http
    a_member: Person
    a_reader: Person
    b_member: Person
    b_reader: Person
    domain: Person
    unscoped: Person
    ids: dict[str, str] = field(default_factory=dict)
    made: dict[str, str] = field(default_factory=dict)

    def call(self, who: Person, call: Call, rid: str | None = None) -> Any:
        names = {**self.ids, "id": rid or "", "uniq": unique("iso"), "n": str(next(_COUNTER) % 250 + 1),
                 "me": who.user_id, "my_project": who.project_id or "", "public_key": _public_key()}
        return self.http(who, call.service, call.method, _fill(call.path, names),
                         json=_fill(call.body, names), headers=_fill(call.headers, names))


def _fill(value: Any, names: dict[str, str]) -> Any:
    """The call's placeholders filled in (``"{n}"`` alone becomes a number)."""
    if isinstance(value, str):
        out = value.format(**names)
        return int(out) if value == "{n}" else out
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return copy.deepcopy(value)


@pytest.fixture(scope="module")
def world(cloud) -> World:
    wait_services(cloud)
    people, http = People(cloud), Http(cloud)
    a, b = people.project("iso-a"), people.project("iso-b")
    admin = people.admin()
    w = World(http, people.member_of("a-member", a, "member"), people.member_of("a-reader", a, "reader"),
              people.member_of("b-member", b, "member"), people.member_of("b-reader", b, "reader"),
              people.domain_member(), people.unscoped(project=b))
    w.ids.update(a_project=a, b_project=b, c_project=unique("c"), d_project=unique("d"),
                 trustee=admin.user_id)

    def ok(r: Any, status: int = 201) -> dict[str, Any]:
        assert r.status_code == status, r.text
        return r.json()

    w.ids["a_network"] = ok(http(w.a_member, "network", "POST", "/v2.0/networks",
                                 {"network": {"name": unique("a")}}))["network"]["id"]
    ok(http(w.a_member, "network", "POST", "/v2.0/subnets", {"subnet": {
        "network_id": w.ids["a_network"], "cidr": "10.30.0.0/24", "ip_version": 4}}))
    w.ids["b_network"] = ok(http(w.b_member, "network", "POST", "/v2.0/networks",
                                 {"network": {"name": unique("b")}}))["network"]["id"]
    w.ids["b_subnet"] = ok(http(w.b_member, "network", "POST", "/v2.0/subnets", {"subnet": {
        "network_id": w.ids["b_network"], "cidr": "10.40.0.0/24", "ip_version": 4}}))["subnet"]["id"]
    w.ids["b_router"] = ok(http(w.b_member, "network", "POST", "/v2.0/routers",
                                {"router": {"name": unique("b")}}))["router"]["id"]
    w.ids["a_sg"] = ok(http(w.a_member, "network", "POST", "/v2.0/security-groups",
                            {"security_group": {"name": unique("a")}}))["security_group"]["id"]
    ext = ok(http(admin, "network", "POST", "/v2.0/networks",
                  {"network": {"name": unique("ext"), "router:external": True}}))["network"]["id"]
    ok(http(admin, "network", "POST", "/v2.0/subnets", {"subnet": {
        "network_id": ext, "cidr": "172.30.0.0/24", "ip_version": 4}}))
    w.ids["ext_network"] = ext
    w.ids["flavor"] = ok(http(admin, "compute", "POST", "/flavors", {"flavor": {
        "name": unique("iso"), "ram": 64, "vcpus": 1, "disk": 1}}), 200)["flavor"]["id"]
    image = ok(http(admin, "image", "POST", "/v2/images", {
        "name": unique("iso"), "visibility": "public", "disk_format": "raw", "container_format": "bare"}))
    r = http(admin, "image", "PUT", f"/v2/images/{image['id']}/file", content=b"\0" * 1024,
             headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    w.ids["image"] = image["id"]
    w.ids["a_container"] = unique("a")          # A's container of the object row
    r = http(w.a_member, "object", "PUT", f"/v1/AUTH_{a}/{w.ids['a_container']}")
    assert r.status_code == 201, r.text
    # volumes of A's to snapshot, back up and transfer (the fake backend makes them at once)
    for key in ("a_volume", "a_backup_volume", "a_transfer_volume"):
        vol = ok(http(w.a_member, "volume", "POST", "/volumes", {"volume": {"size": 1}}), 202)["volume"]["id"]
        for _ in range(300):
            if ok(http(w.a_member, "volume", "GET", f"/volumes/{vol}"), 200)["volume"]["status"] == "available":
                break
            time.sleep(0.05)
        w.ids[key] = vol
    return w


def _made(world: World, kind: Kind) -> str:
    """A's resource of ``kind``, made once per module by A's member."""
    if kind.name not in world.made:
        r = world.call(world.a_member, kind.make)
        assert r.status_code in (200, 201, 202), f"{kind.name}: {r.status_code} {r.text}"
        rid = kind.created(r.json() if "json" in r.headers.get("content-type", "") else {})
        if kind.name == "image member":
            m = world.http(world.a_member, "image", "POST", f"/v2/images/{rid}/members",
                           json={"member": world.ids["c_project"]})
            assert m.status_code == 200, m.text
        world.made[kind.name] = rid
    return world.made[kind.name]


def _listed(world: World, who: Person, kind: Kind, rid: str) -> bool | int:
    assert kind.listing is not None
    call, ids = kind.listing
    r = world.call(who, call)
    if r.status_code != 200:
        return r.status_code
    return rid in ids(r.json())


def _status(world: World, who: Person, call: Call, rid: str) -> int:
    return world.call(who, call, rid).status_code


BY_NAME = {k.name: k for k in KINDS}


@pytest.mark.parametrize("name", BY_NAME)
def test_owner_sees_its_own(world, name):
    """The table's calls are right: A's member lists and shows what it made."""
    kind = BY_NAME[name]
    rid = _made(world, kind)
    if kind.listing is not None:
        assert _listed(world, world.a_member, kind, rid) is True
    if kind.show is not None:
        r = world.call(world.a_member, kind.show, rid)
        assert r.status_code == 200, f"{name}: {r.status_code} {r.text}"


@pytest.mark.parametrize("name", BY_NAME)
@pytest.mark.parametrize("persona", ["b_member", "b_reader"])
def test_other_project_neither_sees_nor_touches(world, name, persona):
    kind = BY_NAME[name]
    rid, who = _made(world, kind), getattr(world, persona)
    if kind.listing is not None:
        got = _listed(world, who, kind, rid)
        if kind.foreign_listing is None:
            assert got is False, f"{name} listed to {persona}"
        else:
            assert got == kind.foreign_listing and got is not True, f"{name} list by {persona}: {got}"
    for op in ("show", "update", "delete", "use"):
        call = getattr(kind, op)
        if call is not None:
            want = kind.reader_use if op == "use" and persona == "b_reader" and kind.reader_use else kind.foreign
            if op in ("update", "delete") and persona == "b_reader" and kind.reader_change:
                want = kind.reader_change
            got = _status(world, who, call, rid)
            assert got == want, f"{name} {op} by {persona}: {got}, upstream answers {want}"
    if kind.show is not None:   # still there, unchanged: A's member shows it
        assert _status(world, world.a_member, kind.show, rid) == 200


@pytest.mark.parametrize("name", BY_NAME)
def test_reader_reads_but_does_not_write(world, name):
    kind = BY_NAME[name]
    rid, reader = _made(world, kind), world.a_reader
    # what belongs to a user (not a project) is another user's to A's reader
    read, write = (kind.foreign, kind.foreign) if kind.per_user else (200, kind.reader_write)
    if kind.listing is not None:
        assert _listed(world, reader, kind, rid) is (not kind.per_user)
    if kind.show is not None:
        got = _status(world, reader, kind.show, rid)
        assert got == read, f"{name} show by A's reader: {got}, upstream answers {read}"
    for op in ("update", "delete"):
        call = getattr(kind, op)
        if call is not None:
            got = _status(world, reader, call, rid)
            assert got == write, f"{name} {op} by A's reader: {got}, upstream answers {write}"
    if kind.create is not None:
        want = kind.reader_create or kind.reader_write
        got = _status(world, reader, kind.create, rid)
        assert got == want, f"{name} create by A's reader: {got}, upstream answers {want}"
    if kind.show is not None:
        assert _status(world, world.a_member, kind.show, rid) == 200


@pytest.mark.parametrize("name", BY_NAME)
@pytest.mark.parametrize("token", ["domain", "unscoped"])
def test_domain_scoped_and_unscoped_tokens(world, name, token):
    kind = BY_NAME[name]
    rid, who = _made(world, kind), getattr(world, token)
    want: Scoped = getattr(kind, token)
    if kind.listing is not None and want.listing is not None:
        got = _listed(world, who, kind, rid)
        if want.listing == 200:
            assert got is False, f"{name} list with a {token} token: {got} (must be 200 without A's)"
        else:
            assert got == want.listing, f"{name} list with a {token} token: {got}, upstream {want.listing}"
    if kind.show is not None and want.show is not None:
        got = _status(world, who, kind.show, rid)
        assert got == want.show, f"{name} show with a {token} token: {got}, upstream answers {want.show}"
    if kind.create is not None and want.create is not None:
        got = _status(world, who, kind.create, rid)
        assert got == want.create, f"{name} create with a {token} token: {got}, upstream answers {want.create}"
    for op in ("update", "delete"):
        call = getattr(kind, op)
        if call is not None and want.change is not None:
            got = _status(world, who, call, rid)
            assert got == want.change, f"{name} {op} with a {token} token: {got}, upstream answers {want.change}"
    if kind.show is not None:
        assert _status(world, world.a_member, kind.show, rid) == 200


def test_table_covers_every_project_resource():
    """A service's project-owned resource types all have a row (a new one adds its own)."""
    names = set(BY_NAME)
    assert {"image", "image member", "network", "subnet", "port", "security_group", "security_group_rule",
            "router", "floatingip", "subnetpool", "rbac_policy", "server", "keypair", "server_group",
            "container", "object"} <= names
    assert len(names) == len(KINDS)
