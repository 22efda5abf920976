"""No 5xx for any input: every route of every service's table, walked with hostile requests.

One all-in-one cloud (every service of ``nubes.services.SERVICE_MODULES``, fake compute driver,
data plane off) with one real resource of each kind (``bad_input_world``); then, per service, each
(method, path) of its route table gets the requests ``bad_input_cases`` generates, with valid ids
and bogus ones. A response is a failure when it is a 5xx (a 501 only from a route the table
declares not implemented, or from a served route listed in ``SERVED_501``), when a 4xx is not in the
service's error format, or when there is no response at all; the service's ``/healthcheck`` must
still answer after its walk. A new service's route table is walked without any change here.
"""

from __future__ import annotations

import importlib
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from nubes.core.api.routing import Route
from nubes.services import SERVICE_MODULES
from tests.cloud import Cloud, start_cloud, stop_cloud
from tests.functional import bad_input_cases as cases
from tests.functional.bad_input_world import ServiceWorld, build_world

REPO = Path(__file__).resolve().parents[2]
BODY_METHODS = ("POST", "PUT", "PATCH")
ORDER = {"GET": 0, "HEAD": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
READERS = 3                   # a read route's requests in flight at once

# Served routes that answer 501 for part of what they accept, with the words that say so in the
# service's section of docs/api-coverage.md.
SERVED_501 = {
    ("network", "POST", "/v2.0/quotas"): "POST /v2.0/quotas",               # as Neutron: no POST
    # the caller is checked (add_image_location), then 501: no store reads external locations
    ("image", "POST", "/v2/images/{image_id}/locations"): "POST /v2/images/{id}/locations",
    # Cinder's volume actions are recognised (unknown ones are a 400) and not served yet
    ("volume", "POST", "/v3/volumes/{volume_id}/action"): "POST /volumes/{id}/action",
    # volume creates from a group or consistency group
    ("volume", "POST", "/v3/volumes"): "volume create from",
    ("volume", "PUT", "/v3/os-services/{action}"): "PUT /os-services/{freeze",
    ("volume", "POST", "/v3/snapshots/{snapshot_id}/action"): "POST /snapshots/{id}/action",
}


def service_routes(service: str) -> list[Route]:
    return importlib.import_module(f"nubes.{service}.api.routes").routes()


def declared_not_implemented(route: Route) -> bool:
    return route.handler.__name__ == "not_implemented"


def service_type(service: str) -> str:
    spec = importlib.import_module(f"nubes.{service}").SPEC
    return spec.catalog[0].service_type if spec.catalog else service


def error_shape_ok(service: str, r: httpx.Response) -> bool:
    """A 4xx body is the service's own OpenStack error body (image's is negotiated: not checked)."""
    if service == "image" or r.request.method == "HEAD" or not r.content:
        return True
    if service == "object":     # Swift's errors are a sentence or a page, in text/html
        if r.content.startswith(b"FormPost: "):         # its formpost middleware's: text/plain
            return r.headers.get("content-type", "").startswith("text/plain")
        return r.headers.get("content-type", "").startswith("text/html")
    try:
        body = r.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    if service == "identity" or r.status_code == 401:     # Keystone's; keystonemiddleware's 401
        if isinstance(body.get("error"), dict):
            return True
        if service == "identity":
            return False
    if service == "network":
        return isinstance(body.get("NeutronError"), dict)
    if service == "placement":
        return isinstance(body.get("errors"), list)
    if service in ("compute", "volume"):
        return len(body) == 1 and all(isinstance(v, dict) and "message" in v for v in body.values())
    return True


class Walk:
    """One service's walk: sends cases, keeps what failed.

    Routes go one after another (reads, then writes, then deletes, so valid ids live long
    enough); a read route's cases go READERS at a time, so the client's work overlaps the
    cloud's; a write route's go one by one, so what each answers does not depend on timing.
    """

    def __init__(self, cloud: Cloud, world: ServiceWorld) -> None:
        self.cloud, self.world, self.service = cloud, world, world.name
        self.failures: list[str] = []
        self.views: dict[str, Any] = {}       # template -> JSON of its GET with valid ids
        self.sent = 0
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        http = getattr(self._local, "http", None)
        if http is None:
            http = httpx.Client(base_url=self.world.http.base_url, headers=self.world.http.headers,
                                timeout=60)
            self._local.http = http
            with self._lock:
                self._clients.append(http)
        return http

    def send(self, route: Route, case: cases.Case) -> httpx.Response | None:
        with self._lock:
            self.sent += 1
        where = f"{case.method} {case.path[:160]} [{case.label}]"
        try:
            r = self._http().request(case.method, case.path, content=case.content, headers=case.headers)
        except httpx.HTTPError as exc:
            self.failures.append(f"{where}: no response ({type(exc).__name__}: {exc})")
            return None
        status = r.status_code
        if status >= 500 and not (status == 501 and (declared_not_implemented(route) or
                                                     (self.service, route.method, route.path) in SERVED_501)):
            self.failures.append(f"{where}: {status} {' '.join(r.text.split())[:300]}")
        elif 400 <= status < 500 and not error_shape_ok(self.service, r):
            self.failures.append(f"{where}: {status} not in the service's error format: "
                                 f"{' '.join(r.text.split())[:200]}")
        return r

    def send_all(self, route: Route, batch: list[cases.Case], pool: ThreadPoolExecutor) -> None:
        if route.method in ("GET", "HEAD"):
            list(pool.map(lambda case: self.send(route, case), batch))
        else:
            for case in batch:
                self.send(route, case)

    def cases_for(self, route: Route) -> list[cases.Case]:
        """Every case of a route but its first "valid ids" request (which ``route`` sends first)."""
        w, template, method = self.world, route.path, route.method
        rng = cases.rng_for(self.service, method, template)
        valid = cases.fill(template, w.ids)
        out: list[cases.Case] = []
        if method in ("GET", "HEAD") and cases.is_collection(template):
            out += cases.query_cases(method, valid, self._fields(template), rng,
                                     cases.names_in_source(self.service))
            out += [cases.Case(method, valid, label, headers=headers)
                    for label, headers in cases.header_cases(service_type(self.service))]
        elif method in ("GET", "HEAD"):
            out += [cases.Case(method, f"{valid}?{q}", f"query {q[:60]}") for q in cases.ITEM_QUERY_CASES]
        elif method in BODY_METHODS:
            seeds = list(w.seeds.get((method, template), []))
            if method in ("PUT", "PATCH") and not seeds:
                seeds = cases.view_seeds(self.views.get(template))
            ctype = w.content_types.get((method, template), cases.JSON)
            out += cases.body_cases(method, valid, seeds, rng, ctype)
        for param in cases.params_of(template):
            for bogus in cases.BOGUS_IDS:
                content = b"{}" if method in BODY_METHODS else None
                out.append(cases.Case(method, cases.fill(template, {**w.ids, param: bogus}),
                                      f"{param}={bogus[:24]}", content, {"Content-Type": cases.JSON}))
        return out

    def route(self, route: Route, pool: ThreadPoolExecutor) -> None:
        valid = cases.fill(route.path, self.world.ids)
        if route.method in ("GET", "HEAD"):
            r = self.send(route, cases.Case(route.method, valid, "valid ids"))
            if r is not None and r.status_code == 200 and route.method == "GET":
                try:
                    self.views[route.path] = r.json()
                except ValueError:
                    pass
        self.send_all(route, self.cases_for(route), pool)
        if route.method == "DELETE":
            self.send(route, cases.Case(route.method, valid, "valid ids"))

    def _fields(self, template: str) -> list[str]:
        view = self.views.get(template)
        if isinstance(view, dict):
            for value in view.values():
                if isinstance(value, list) and value and isinstance(value[0], dict):
                    return [k for k in value[0] if isinstance(k, str)]
        return []

    def run(self) -> None:
        routes = sorted(service_routes(self.service), key=lambda r: ORDER.get(r.method, 1))
        try:
            with ThreadPoolExecutor(READERS) as pool:
                for route in routes:
                    self.route(route, pool)
            for template in dict.fromkeys(r.path for r in routes):
                self.send(routes[0], cases.Case("TRACE", cases.fill(template, self.world.ids),
                                                "undeclared method"))
        finally:
            for http in self._clients:
                http.close()
        health = httpx.get(self.cloud.url(self.service, "/healthcheck"), timeout=30)
        if health.status_code != 200:
            self.failures.append(f"/healthcheck after the walk: {health.status_code} {health.text[:200]}")


@pytest.fixture(scope="module")
def walk_cloud(tmp_path_factory):
    # A cloud of its own: the walk PATCHes and DELETEs what it is given and fills quotas.
    cloud = start_cloud(tmp_path_factory.mktemp("bad-input"), names=tuple(SERVICE_MODULES))
    yield cloud
    stop_cloud(cloud)


@pytest.fixture(scope="module")
def worlds(walk_cloud) -> dict[str, ServiceWorld]:
    built = build_world(walk_cloud, walk_cloud.token(), list(SERVICE_MODULES))
    yield built
    for w in built.values():
        w.http.close()


@pytest.mark.parametrize("service", SERVICE_MODULES)
def test_no_route_answers_5xx(service, walk_cloud, worlds):
    walk = Walk(walk_cloud, worlds[service])
    walk.run()
    shown = "\n".join(walk.failures[:40])
    assert not walk.failures, (f"{len(walk.failures)} of {walk.sent} requests to {service} failed "
                               f"(first 40):\n{shown}")


def coverage_section(service: str) -> str:
    """The service's section of docs/api-coverage.md: the one whose heading names the service or
    its upstream project (Keystone, Glance ...)."""
    spec = importlib.import_module(f"nubes.{service}").SPEC
    names = {service, *(c.name for c in spec.catalog), *(c.service_type for c in spec.catalog)}
    text = (REPO / "docs" / "api-coverage.md").read_text()
    for section in re.split(r"\n(?=## )", text):
        heading = section.splitlines()[0].lower()
        if heading.startswith("## ") and any(n.lower() in heading for n in names):
            return section
    return ""


def test_every_declared_501_is_documented():
    """A route the table declares not implemented is named in the service's section of
    docs/api-coverage.md (by the last fixed segment of its path)."""
    missing = []
    for service in SERVICE_MODULES:
        section = coverage_section(service)
        for route in service_routes(service):
            if not declared_not_implemented(route):
                continue
            static = [p for p in route.path.split("/") if p and not p.startswith("{") and not
                      re.fullmatch(r"v[\d.]+", p)]
            if not section or (static and static[-1] not in section):
                missing.append(f"{service} {route.path}")
    for (service, method, path), words in SERVED_501.items():
        if words not in coverage_section(service):
            missing.append(f"{service} {method} {path} ({words!r})")
    assert not missing, "routes answering 501 missing from docs/api-coverage.md: " + ", ".join(
        sorted(set(missing)))
