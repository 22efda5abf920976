"""/v3/role_assignments: grants as stored, or as they take effect (groups, inheritance, implied roles)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import SYSTEM_TARGET, Assignment, Domain, Group, Project, Role, User
from nubes.identity.db.queries import assignments as assignment_q
from nubes.identity.db.queries import roles as role_q
from nubes.identity.exceptions import NotFound, ValidationError
from nubes.identity.service import roles as roles_svc

PROJECT_KINDS = ["UserProject", "GroupProject"]
DOMAIN_KINDS = ["UserDomain", "GroupDomain"]
SYSTEM_KINDS = ["UserSystem", "GroupSystem"]


@dataclass
class Filters:
    """The query of GET /v3/role_assignments, as Keystone reads it."""

    role_id: str | None = None
    user_id: str | None = None
    group_id: str | None = None
    system: bool = False              # scope.system=all
    system_given: bool = False        # scope.system present at all (for the "not both" checks)
    domain_id: str | None = None
    project_id: str | None = None
    include_subtree: bool = False
    inherited: bool | None = None     # scope.OS-INHERIT:inherited_to: None = both
    effective: bool = False
    include_names: bool = False

    def check(self) -> None:
        """Refuse the combinations Keystone refuses (400)."""
        if self.domain_id and self.project_id:
            raise ValidationError("Specify a domain or project, not both")
        if self.domain_id and self.system_given:
            raise ValidationError("Specify system or domain, not both")
        if self.project_id and self.system_given:
            raise ValidationError("Specify system or project, not both")
        if self.user_id and self.group_id:
            raise ValidationError("Specify a user or group, not both")
        if self.effective and self.group_id:
            raise ValidationError("Combining effective and group filter will always result in an "
                                  "empty list.")
        if self.effective and self.inherited and self.domain_id:
            raise ValidationError("Combining effective, domain and inherited filters will always "
                                  "result in an empty list.")


@dataclass(frozen=True)
class Ref:
    """One assignment to show: an actor holds a role on a scope, and where it came from."""

    role_id: str
    user_id: str | None = None
    group_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    inherited: bool = False          # shown with "OS-INHERIT:inherited_to": "projects"
    via_group: str | None = None     # effective: the user holds it as a member of this group
    via_project: str | None = None   # effective: inherited from this project (an ancestor)
    via_domain: str | None = None    # effective: inherited from this domain
    via_role: str | None = None      # effective: implied by this (prior) role
    granted_role: str | None = None  # effective: the role actually granted, when implied


@dataclass
class Listing:
    refs: list[Ref]
    roles: dict[str, Role] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, Any] = field(default_factory=dict)
    projects: dict[str, Any] = field(default_factory=dict)
    domains: dict[str, Any] = field(default_factory=dict)


class _Tree:
    """The project hierarchy, loaded once per listing when inheritance or subtrees need it."""

    def __init__(self, rows: list[tuple[str, str | None, str]]) -> None:
        self.parent: dict[str, str | None] = {}
        self.domain: dict[str, str] = {}
        self.children: dict[str, list[str]] = {}
        self.by_domain: dict[str, list[str]] = {}
        for pid, parent, domain in rows:
            self.parent[pid] = parent
            self.domain[pid] = domain
            self.by_domain.setdefault(domain, []).append(pid)
            if parent:
                self.children.setdefault(parent, []).append(pid)

    def subtree(self, project_id: str) -> list[str]:
        """Every project below ``project_id`` (not itself), breadth first."""
        out, frontier, seen = [], [project_id], {project_id}
        while frontier:
            nxt = []
            for pid in frontier:
                for child in self.children.get(pid, ()):
                    if child not in seen:
                        seen.add(child)
                        out.append(child)
                        nxt.append(child)
            frontier = nxt
        return out

    def ancestors(self, project_id: str) -> list[str]:
        out, seen = [], {project_id}
        parent = self.parent.get(project_id)
        while parent and parent not in seen:
            seen.add(parent)
            out.append(parent)
            parent = self.parent.get(parent)
        return out


def _ref(a: Assignment) -> Ref:
    actor = {"user_id": a.actor_id} if a.type.startswith("User") else {"group_id": a.actor_id}
    if a.type.endswith("Project"):
        return Ref(a.role_id, project_id=a.target_id, inherited=a.inherited, **actor)
    if a.type.endswith("Domain"):
        return Ref(a.role_id, domain_id=a.target_id, inherited=a.inherited, **actor)
    return Ref(a.role_id, system=True, **actor)


def _kinds(f: Filters) -> list[str]:
    actors = ["User"] if f.user_id else ["Group"] if f.group_id else ["User", "Group"]
    targets = (["Project"] if f.project_id else ["Domain"] if f.domain_id
               else ["System"] if f.system else ["Project", "Domain", "System"])
    return [a + t for a in actors for t in targets]


async def _direct(s: AsyncSession, f: Filters, tree: _Tree | None) -> list[Ref]:
    actor = f.user_id or f.group_id
    target_ids: list[str] | None = None
    if f.project_id:
        target_ids = [f.project_id, *(tree.subtree(f.project_id) if tree else [])]
    elif f.domain_id:
        target_ids = [f.domain_id]
    elif f.system:
        target_ids = [SYSTEM_TARGET]
    rows = await assignment_q.list_assignments(
        s, kinds=_kinds(f), actor_ids=[actor] if actor else None, target_ids=target_ids,
        role_id=f.role_id, inherited=f.inherited)
    return [_ref(a) for a in rows]


async def _effective_rows(s: AsyncSession, f: Filters, tree: _Tree,
                          interest: list[str]) -> list[Assignment]:
    """The grants that can affect the result: the user's and their groups', on the scopes asked for."""
    actor_ids = None
    if f.user_id:
        actor_ids = [f.user_id, *await assignment_q.group_ids_of_user(s, f.user_id)]
    inherited = False if f.domain_id else f.inherited
    q = assignment_q.list_assignments
    if f.project_id:
        rows: list[Assignment] = []
        if inherited is not True:
            rows += await q(s, kinds=PROJECT_KINDS, actor_ids=actor_ids, target_ids=interest, inherited=False)
        if inherited is not False:
            rows += await q(s, kinds=DOMAIN_KINDS, actor_ids=actor_ids,
                            target_ids=[tree.domain[f.project_id]], inherited=True)
            sources = tree.ancestors(f.project_id) + (interest if f.include_subtree else [])
            if sources:
                rows += await q(s, kinds=PROJECT_KINDS, actor_ids=actor_ids, target_ids=sources,
                                inherited=True)
        return rows
    if f.domain_id:
        return await q(s, kinds=DOMAIN_KINDS, actor_ids=actor_ids, target_ids=[f.domain_id],
                       inherited=False)
    if f.system:
        return await q(s, kinds=SYSTEM_KINDS, actor_ids=actor_ids, target_ids=[SYSTEM_TARGET])
    return await q(s, actor_ids=actor_ids, inherited=inherited)


async def _effective(s: AsyncSession, f: Filters, tree: _Tree) -> list[Ref]:
    """Group grants become their members', inherited grants land on the projects below."""
    interest: list[str] = []
    if f.project_id:
        interest = [f.project_id, *(tree.subtree(f.project_id) if f.include_subtree else [])]
    rows = await _effective_rows(s, f, tree, interest)
    wanted = set(interest)
    group_ids = sorted({a.actor_id for a in rows if a.type.startswith("Group")})
    members = ({g: [f.user_id] for g in group_ids} if f.user_id
               else await assignment_q.members_of_groups(s, group_ids))
    out: list[Ref] = []
    for a in rows:
        base = _ref(a)
        if base.group_id:
            holders = [(u, base.group_id) for u in members.get(base.group_id, ())]
        else:
            holders = [(base.user_id, None)]
        if not a.inherited:
            for user_id, via_group in holders:
                out.append(replace(base, user_id=user_id, group_id=None, via_group=via_group))
            continue
        if base.domain_id:
            projects, source = tree.by_domain.get(base.domain_id, []), {"via_domain": base.domain_id}
        else:
            projects, source = tree.subtree(a.target_id), {"via_project": a.target_id}
        if f.project_id:
            projects = [p for p in projects if p in wanted]
        for user_id, via_group in holders:
            for pid in projects:
                out.append(Ref(a.role_id, user_id=user_id, project_id=pid, inherited=True,
                               via_group=via_group, **source))
    return out


def _with_implied(refs: list[Ref], graph: dict[str, list[str]]) -> list[Ref]:
    """Each assignment, followed by one per role its role implies (recording the prior role)."""
    if not graph:
        return refs
    out: list[Ref] = []
    for ref in refs:
        out.append(ref)
        seen: set[tuple[str, str]] = set()
        todo = [ref]
        while todo:
            cur = todo.pop(0)
            for implied in graph.get(cur.role_id, ()):
                if (implied, cur.role_id) in seen:
                    continue  # a cycle
                seen.add((implied, cur.role_id))
                nxt = replace(cur, role_id=implied, via_role=cur.role_id,
                              granted_role=ref.role_id)
                out.append(nxt)
                todo.append(nxt)
    return out


def _in_domain(ref: Ref, domain_id: str, tree: _Tree) -> bool:
    if ref.domain_id:
        return ref.domain_id == domain_id
    if ref.project_id:
        return tree.domain.get(ref.project_id) == domain_id
    return False


async def list_assignments(s: AsyncSession, f: Filters, *, restrict_domain: str | None = None) -> Listing:
    """Assignments matching ``f``; with ``restrict_domain``, only those on that domain or its projects."""
    tree: _Tree | None = None
    if f.effective or f.include_subtree or restrict_domain:
        tree = _Tree(await assignment_q.project_tree(s))
    if f.project_id and tree is not None and f.project_id not in tree.domain \
            and (f.effective or f.include_subtree):
        raise NotFound("project", f.project_id)
    if f.effective:
        assert tree is not None
        refs = _with_implied(await _effective(s, f, tree), await role_q.implication_graph(s))
    else:
        refs = await _direct(s, f, tree if f.include_subtree else None)
    roles = await role_q.by_ids(s, {r.role_id for r in refs})
    if f.effective:
        # Domain-specific roles only serve to imply global ones; tokens never carry them.
        refs = [r for r in refs if r.role_id in roles and not roles_svc.is_domain_specific(roles[r.role_id])]
        if f.role_id:
            refs = [r for r in refs if r.role_id == f.role_id]
    if restrict_domain is not None:
        assert tree is not None
        refs = [r for r in refs if _in_domain(r, restrict_domain, tree)]
    listing = Listing(refs, roles=roles)
    if f.include_names:
        await _load_names(s, listing)
    return listing


async def _load_names(s: AsyncSession, listing: Listing) -> None:
    refs = listing.refs
    listing.users = await assignment_q.rows_by_ids(s, User, {r.user_id for r in refs if r.user_id})
    listing.groups = await assignment_q.rows_by_ids(s, Group, {r.group_id for r in refs if r.group_id})
    listing.projects = await assignment_q.rows_by_ids(s, Project,
                                                      {r.project_id for r in refs if r.project_id})
    domain_ids = {r.domain_id for r in refs if r.domain_id}
    for rows in (listing.users, listing.groups, listing.projects):
        domain_ids |= {row.domain_id for row in rows.values()}  # type: ignore[attr-defined]
    domain_ids |= {r.domain_id for r in listing.roles.values() if roles_svc.is_domain_specific(r)}
    listing.domains = await assignment_q.rows_by_ids(s, Domain, domain_ids)


async def project_for_tree(s: AsyncSession, project_id: str) -> Project:
    project = await s.get(Project, project_id)
    if project is None:
        raise NotFound("project", project_id)
    return project
