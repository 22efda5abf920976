"""The access matrix of docs/policy.md, run cell by cell against the shared all-in-one cloud.

The table between the ``policy-matrix`` markers of the page is the test's data: each row is a
service, an operation and its request, each column a persona with a scope, each cell the status
upstream (and nubes) answers. Editing the page changes the test; a rule that drifts from the
page fails here. ``test_legacy_switch`` checks the ``policy_defaults = "legacy"`` switch on a
cloud of its own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cloud import start_cloud, stop_cloud
from tests.functional.rbac_world import Http, People, Person, unique, wait_services

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
COLUMNS = ("admin", "system admin", "manager", "member", "reader", "service", "domain member",
           "domain manager", "unscoped")
NO_PROJECT = "0" * 32      # what {project} stands for with a token that has none


@dataclass(frozen=True)
class Row:
    service: str
    operation: str
    method: str
    path: str
    body: str | None
    expected: dict[str, int]

    @property
    def id(self) -> str:
        return f"{self.service}: {self.operation}"


def read_matrix(text: str) -> list[Row]:
    m = re.search(r"<!-- policy-matrix:start -->\n(.*?)<!-- policy-matrix:end -->", text, re.DOTALL)
    assert m, "docs/policy.md has no policy-matrix table"
    lines = [ln.strip() for ln in m.group(1).strip().splitlines()]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["service", "operation", "request", *COLUMNS], header
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        service, operation, request, *statuses = cells
        request = request.strip("`")
        method, _, rest = request.partition(" ")
        path, _, body = rest.partition(" ")
        rows.append(Row(service, operation, method, path, body or None,
                        {col: int(st) for col, st in zip(COLUMNS, statuses, strict=True)}))
    return rows


ROWS = read_matrix(DOC.read_text())


@pytest.fixture(scope="module")
def personas(cloud) -> dict[str, Person]:
    wait_services(cloud)
    people = People(cloud)
    project = people.project("matrix")
    return {
        "admin": people.admin(), "system admin": people.system_admin(),
        "manager": people.member_of("manager", project, "manager"),
        "member": people.member_of("member", project, "member"),
        "reader": people.member_of("reader", project, "reader"),
        "service": people.member_of("service", project, "service"),
        "domain member": people.domain_member(), "domain manager": people.domain_member("manager"),
        "unscoped": people.unscoped(project=project),
    }


def _request(http: Http, who: Person, row: Row) -> Any:
    def fill(text: str) -> str:
        return (text.replace("{uniq}", unique("matrix")).replace("{project}", who.project_id or NO_PROJECT)
                .replace("{user}", who.user_id))

    body = json.loads(fill(row.body)) if row.body else None
    return http(who, row.service, row.method, fill(row.path), json=body)


def test_matrix_is_complete():
    """Every service has rows, and every cell a status."""
    assert {r.service for r in ROWS} == {"identity", "image", "placement", "network", "compute", "volume"}
    assert all(len(r.expected) == len(COLUMNS) for r in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_matrix_row(cloud, personas, row):
    http = Http(cloud)
    wrong = {}
    for column, want in row.expected.items():
        r = _request(http, personas[column], row)
        if r.status_code != want:
            wrong[column] = f"{r.status_code} (the table says {want}): {r.text[:200]}"
    assert not wrong, f"{row.method} {row.path}: " + "; ".join(f"{c}: {w}" for c, w in wrong.items())


# ---------------------------------------------------------------- the legacy switch

@pytest.fixture(scope="module")
def legacy_cloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("legacy-state"), services="identity,image",
                    names=("identity", "image"), extra_env={"NUBES_IMAGE__POLICY_DEFAULTS": "legacy"})
    yield c
    stop_cloud(c)


def test_legacy_switch(legacy_cloud):
    """``policy_defaults = "legacy"``: no scope check (a system-scoped admin lists images, 403 with
    the secure defaults) and the deprecated rules beside the new ones (a project's user with no
    reader role lists its images: any role of the owning project will do, as Glance's old rules)."""
    people, http = People(legacy_cloud), Http(legacy_cloud)
    project = people.project("legacy")
    only_service = people.member_of("svc", project, "service")
    assert http(people.system_admin(), "image", "GET", "/v2/images").status_code == 200
    assert http(only_service, "image", "GET", "/v2/images").status_code == 200
    # identity kept the secure defaults: a domain-scoped token may not list services (scope)
    assert http(people.domain_member(), "identity", "GET", "/v3/services").status_code == 403
    # the legacy rules still keep projects apart ...
    other = people.member_of("other", people.project("legacy-b"), "member")
    made = http(other, "image", "POST", "/v2/images", json={"name": unique("l"), "visibility": "private"})
    assert made.status_code == 201, made.text
    assert http(only_service, "image", "GET", f"/v2/images/{made.json()['id']}").status_code == 404
    # ... but take any role of the owning project: a reader makes images, as Glance's old "" did
    reader = people.member_of("reader", project, "reader")
    assert http(reader, "image", "POST", "/v2/images", json={"name": unique("l")}).status_code == 201


# ---------------------------------------------------------------- an operator's context_is_admin

@pytest.fixture(scope="module")
def superuser_cloud(tmp_path_factory):
    state = tmp_path_factory.mktemp("superuser-state")
    policy = state / "network-policy.yaml"
    policy.write_text('"context_is_admin": "role:superuser"\n')
    c = start_cloud(state, services="identity,network", names=("identity", "network"),
                    extra_env={"NUBES_NETWORK__POLICY_FILE": str(policy)})
    yield c
    stop_cloud(c)


def test_context_is_admin_override_changes_who_is_admin(superuser_cloud):
    """The network service's context_is_admin rule is who is admin there, in its rules and in what
    it shows: with "role:superuser" a superuser of another project sees and changes a private
    network, and the role named admin is an ordinary one."""
    people, http = People(superuser_cloud), Http(superuser_cloud)
    people._admin("POST", "/v3/roles", {"role": {"name": "superuser"}})
    people.roles = {r["name"]: r["id"] for r in people._admin("GET", "/v3/roles").json()["roles"]}
    owner = people.member_of("owner", people.project("su-a"), "member")
    made = http(owner, "network", "POST", "/v2.0/networks", json={"network": {"name": unique("su")}})
    assert made.status_code == 201, made.text
    path = f"/v2.0/networks/{made.json()['network']['id']}"
    superuser = people.member_of("superuser", people.project("su-b"), "superuser", "member")
    assert http(superuser, "network", "GET", path).status_code == 200
    listed = http(superuser, "network", "GET", "/v2.0/networks").json()["networks"]
    assert made.json()["network"]["id"] in [n["id"] for n in listed]
    assert http(superuser, "network", "PUT", path, json={"network": {"name": "su"}}).status_code == 200
    admin = people.admin()
    assert http(admin, "network", "GET", path).status_code == 404        # admin is not admin here
    assert http(admin, "network", "POST", "/v2.0/networks", json={"network": {
        "name": unique("su"), "shared": True}}).status_code == 403          # nor may it share
