"""Bootstrap: the default domain, roles, admin, service user and the catalog; idempotent."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import (
    NULL_DOMAIN,
    SYSTEM_TARGET,
    Assignment,
    Domain,
    Endpoint,
    ImpliedRole,
    Password,
    Project,
    Region,
    Role,
    Service,
    User,
)
from nubes.identity.db.queries import users as user_q
from nubes.identity.service import passwords

LOG = logging.getLogger(__name__)

DEFAULT_DOMAIN = "default"


@dataclass
class CatalogService:
    type: str
    name: str
    description: str
    urls: dict[str, str]     # interface -> url


@dataclass
class BootstrapSpec:
    admin_password: str
    service_password: str
    region: str = "RegionOne"
    admin_user: str = "admin"
    admin_project: str = "admin"
    service_user: str = "nubes"
    service_project: str = "service"
    services: tuple[CatalogService, ...] = ()


def new_id() -> str:
    return uuid.uuid4().hex


async def _role(s: AsyncSession, name: str) -> Role:
    row = (await s.execute(select(Role).where(Role.name == name, Role.domain_id == NULL_DOMAIN))).scalars().first()
    if row is None:
        row = Role(id=new_id(), name=name, domain_id=NULL_DOMAIN, options={}, extra={})
        s.add(row)
        await s.flush()
    return row


async def _imply(s: AsyncSession, prior: Role, implied: Role) -> None:
    if await s.get(ImpliedRole, (prior.id, implied.id)) is None:
        s.add(ImpliedRole(prior_role_id=prior.id, implied_role_id=implied.id))


async def _project(s: AsyncSession, name: str) -> Project:
    row = (await s.execute(select(Project).where(Project.name == name,
                                                 Project.domain_id == DEFAULT_DOMAIN))).scalars().first()
    if row is None:
        row = Project(id=new_id(), name=name, domain_id=DEFAULT_DOMAIN,
                      description=f"Bootstrap project {name}", enabled=True, extra={}, options={})
        s.add(row)
        await s.flush()
    return row


async def _user(s: AsyncSession, name: str, password: str, rounds: int, project: Project) -> User:
    row = await user_q.user_by_name(s, name, DEFAULT_DOMAIN)
    if row is None:
        row = User(id=new_id(), name=name, domain_id=DEFAULT_DOMAIN, enabled=True,
                   default_project_id=project.id, extra={}, options={})
        s.add(row)
        await s.flush()
    current = await user_q.current_password(s, row.id)
    if current is None or not await passwords.verify_password(password, current.password_hash,
                                                               rounds=rounds):
        s.add(Password(user_id=row.id, password_hash=await passwords.hash_password(password, rounds),
                       self_service=True))
    return row


async def _grant(s: AsyncSession, kind: str, actor: str, target: str, role: Role) -> None:
    key = (kind, actor, target, role.id, False)
    if await s.get(Assignment, key) is None:
        s.add(Assignment(type=kind, actor_id=actor, target_id=target, role_id=role.id, inherited=False))


async def _catalog(s: AsyncSession, spec: BootstrapSpec) -> None:
    if await s.get(Region, spec.region) is None:
        s.add(Region(id=spec.region, description="", extra={}))
        await s.flush()
    for entry in spec.services:
        svc = (await s.execute(select(Service).where(Service.type == entry.type))).scalars().first()
        if svc is None:
            svc = Service(id=new_id(), type=entry.type, name=entry.name, description=entry.description,
                          enabled=True, extra={})
            s.add(svc)
            await s.flush()
        existing = (await s.execute(select(Endpoint).where(Endpoint.service_id == svc.id,
                                                           Endpoint.region_id == spec.region))).scalars().all()
        by_iface = {ep.interface: ep for ep in existing}
        for iface, url in entry.urls.items():
            ep = by_iface.get(iface)
            if ep is None:
                s.add(Endpoint(id=new_id(), service_id=svc.id, interface=iface, url=url,
                               region_id=spec.region, enabled=True, extra={}))
            elif ep.url != url:
                ep.url = url


async def bootstrap(db: Any, spec: BootstrapSpec, rounds: int) -> dict[str, str]:
    async with db.session() as s:
        if await s.get(Domain, DEFAULT_DOMAIN) is None:
            s.add(Domain(id=DEFAULT_DOMAIN, name="Default", description="The default domain",
                         enabled=True, extra={}, tags=[], options={}))
            await s.flush()
        admin = await _role(s, "admin")
        manager = await _role(s, "manager")
        member = await _role(s, "member")
        reader = await _role(s, "reader")
        service = await _role(s, "service")
        # object storage's reseller_admin_role: the service user reaches every project's account
        # (block storage keeps backups in the owner's account, as Cinder's per_user Swift auth)
        reseller_admin = await _role(s, "ResellerAdmin")
        await _imply(s, admin, manager)
        await _imply(s, manager, member)
        await _imply(s, member, reader)
        admin_project = await _project(s, spec.admin_project)
        service_project = await _project(s, spec.service_project)
        admin_user = await _user(s, spec.admin_user, spec.admin_password, rounds, admin_project)
        service_user = await _user(s, spec.service_user, spec.service_password, rounds, service_project)
        await _grant(s, "UserProject", admin_user.id, admin_project.id, admin)
        await _grant(s, "UserSystem", admin_user.id, SYSTEM_TARGET, admin)
        await _grant(s, "UserProject", service_user.id, service_project.id, admin)
        await _grant(s, "UserProject", service_user.id, service_project.id, service)
        await _grant(s, "UserProject", service_user.id, service_project.id, reseller_admin)
        await _catalog(s, spec)
        LOG.info("identity bootstrapped: admin user %s, project %s", admin_user.id, admin_project.id)
        return {"admin_user_id": admin_user.id, "admin_project_id": admin_project.id}
