"""GET /v3/role_assignments: filters, effective mode, names and subtrees, in Keystone's shapes."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.identity.api.views import base_url, collection
from nubes.identity.exceptions import ValidationError
from nubes.identity.service import role_assignments as ra_svc
from nubes.identity.service import roles as roles_svc


def _flag(q: Any, name: str) -> bool:
    """Keystone's reading of a flag: present means true, unless it says 0 (or false)."""
    if name not in q:
        return False
    return q.get(name).strip().lower() not in ("0", "false", "no", "off")


def _filters(req: Request) -> ra_svc.Filters:
    q = req.query_params
    inherited = None
    if "scope.OS-INHERIT:inherited_to" in q:
        inherited = q.get("scope.OS-INHERIT:inherited_to") == "projects"
    return ra_svc.Filters(
        role_id=q.get("role.id") or None, user_id=q.get("user.id") or None,
        group_id=q.get("group.id") or None, system=q.get("scope.system") == "all",
        system_given=bool(q.get("scope.system")), domain_id=q.get("scope.domain.id") or None,
        project_id=q.get("scope.project.id") or None, include_subtree=_flag(q, "include_subtree"),
        inherited=inherited, effective=_flag(q, "effective"), include_names=_flag(q, "include_names"))


async def list_role_assignments(req: Request):
    f = _filters(req)
    restrict = None
    async with req.rt.db.reader() as s:
        if f.include_subtree:
            target: dict[str, Any] = {}
            if f.project_id:
                project = await ra_svc.project_for_tree(s, f.project_id)
                target = {"project": {"id": project.id, "domain_id": project.domain_id}}
            req.ctx.can("identity:list_role_assignments_for_tree", {"target": target})
            if not f.project_id:
                raise ValidationError("scope.project.id must be specified if include_subtree "
                                             "is also specified")
        else:
            domain_id = req.ctx.domain_id or f.domain_id
            req.ctx.can("identity:list_role_assignments", {"target": {"domain_id": domain_id}})
            # A domain-scoped caller sees the assignments of its domain only, as in Keystone.
            restrict = req.ctx.domain_id
        f.check()
        listing = await ra_svc.list_assignments(s, f, restrict_domain=restrict)
    items = [_entity(req, ref, listing, f.include_names) for ref in listing.refs]
    return json_response(collection(req, "role_assignments", items))


# -- the entity format --------------------------------------------------------------------------


def _named(row: Any, ident: str, listing: ra_svc.Listing, with_domain: bool = True) -> dict[str, Any]:
    """{id, name[, domain {id, name}]}; empty names for something that no longer exists."""
    if row is None:
        out: dict[str, Any] = {"id": ident, "name": ""}
        if with_domain:
            out["domain"] = {"id": "", "name": ""}
        return out
    out = {"id": ident, "name": row.name}
    if with_domain:
        domain = listing.domains.get(row.domain_id)
        out["domain"] = {"id": row.domain_id, "name": domain.name if domain else ""}
    return out


def _entity(req: Request, ref: ra_svc.Ref, listing: ra_svc.Listing, names: bool) -> dict[str, Any]:
    base = f"{base_url(req)}/v3"
    links: dict[str, str] = {}
    # The scope, and the grant the assignment comes from (its target part).
    if ref.project_id:
        scope: dict[str, Any] = {"project": _named(listing.projects.get(ref.project_id), ref.project_id,
                                                   listing) if names else {"id": ref.project_id}}
        if ref.via_domain:
            link = f"/domains/{ref.via_domain}"
        elif ref.via_project:
            link = f"/projects/{ref.via_project}"
        else:
            link = f"/projects/{ref.project_id}"
    elif ref.domain_id:
        domain = listing.domains.get(ref.domain_id)
        scope = {"domain": ({"id": ref.domain_id, "name": domain.name if domain else ""} if names
                            else {"id": ref.domain_id})}
        link = f"/domains/{ref.domain_id}"
    else:
        scope = {"system": {"all": True}}
        link = "/system"
    entity: dict[str, Any] = {"scope": scope}
    if ref.user_id:
        entity["user"] = (_named(listing.users.get(ref.user_id), ref.user_id, listing) if names
                          else {"id": ref.user_id})
        if ref.via_group:
            links["membership"] = f"{base}/groups/{ref.via_group}/users/{ref.user_id}"
            link += f"/groups/{ref.via_group}"
        else:
            link += f"/users/{ref.user_id}"
    elif ref.group_id:
        entity["group"] = (_named(listing.groups.get(ref.group_id), ref.group_id, listing) if names
                           else {"id": ref.group_id})
        link += f"/groups/{ref.group_id}"
    role = listing.roles.get(ref.role_id)
    if names:
        entity["role"] = {"id": ref.role_id, "name": role.name if role else ""}
        if role is not None and roles_svc.is_domain_specific(role):
            domain = listing.domains.get(role.domain_id)
            entity["role"]["domain"] = {"id": role.domain_id, "name": domain.name if domain else ""}
    else:
        entity["role"] = {"id": ref.role_id}
    link += f"/roles/{ref.granted_role or ref.role_id}"
    if ref.inherited:
        scope["OS-INHERIT:inherited_to"] = "projects"
        link = f"/OS-INHERIT{link}/inherited_to_projects"
    links["assignment"] = f"{base}{link}"
    if ref.via_role:
        links["prior_role"] = f"{base}/roles/{ref.via_role}/implies/{ref.role_id}"
    entity["links"] = links
    return entity
