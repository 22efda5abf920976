"""The security group services on a scratch database: what they announce on the bus, the default
group made once per project, and the groups a new port gets."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from nubes.core.bus.inprocess import InProcessBus
from nubes.core.config import Config, CoreConfig
from nubes.core.context import RequestContext
from nubes.core.db import migrate
from nubes.core.db.session import Database
from nubes.core.service import Runtime
from nubes.network import SPEC
from nubes.network.conf import NetworkConfig
from nubes.network.db.models import DefaultSecurityGroup, SecurityGroup
from nubes.network.exceptions import SecurityGroupNotFound
from nubes.network.service import security_groups as sg
from nubes.network.service.runtime import NetworkState


@pytest.fixture
async def state(tmp_path):
    config = Config(core=CoreConfig(state_dir=tmp_path))
    config.services["network"] = NetworkConfig()
    db = Database(config.database_url("network"))
    await migrate.upgrade(db, "network", SPEC.migrations, SPEC.metadata())
    bus = InProcessBus()
    await bus.start()
    events: list[tuple[str, dict]] = []

    async def seen(event_type: str, payload: dict) -> None:
        events.append((event_type, payload))

    await bus.subscribe("network.security_group.*", seen)
    await bus.subscribe("network.security_group_rule.*", seen)
    st = NetworkState(Runtime(name="network", conf=config, db=db, bus=bus))
    st.events = events
    yield st
    await bus.close()
    await db.close()


def ctx(project: str = "p1", admin: bool = False) -> RequestContext:
    return RequestContext(user_id="u", project_id=project, roles=["admin", "member", "reader"] if admin
                          else ["member", "reader"])


def tcp(group_id: str, port: int) -> dict:
    return {"security_group_id": group_id, "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": port, "port_range_max": port, "remote_ip_prefix": None, "remote_group_id": None}


async def test_rule_changes_are_announced_as_updates_of_their_group(state):
    rec = await state.security_groups.create(ctx(), {"name": "web"}, "p1")
    group_id = rec.row.id
    assert [r.direction for r in rec.rules] == ["egress", "egress"]
    state.events.clear()
    [rule] = await state.security_group_rules.create(ctx(), [tcp(group_id, 22)])
    assert ("network.security_group.update", {"id": group_id}) in state.events
    assert ("network.security_group_rule.create", {"id": rule.row.id, "security_group_id": group_id}) \
        in state.events
    state.events.clear()
    await state.security_group_rules.delete(ctx(), rule.row.id)
    assert state.events == [("network.security_group_rule.delete", {"id": rule.row.id,
                                                                     "security_group_id": group_id}),
                            ("network.security_group.update", {"id": group_id})]
    state.events.clear()
    await state.security_groups.delete(ctx(), group_id)
    assert state.events == [("network.security_group.delete", {"id": group_id})]


async def test_deleting_a_remote_group_updates_the_groups_naming_it(state):
    a = (await state.security_groups.create(ctx(), {"name": "a"}, "p1")).row.id
    b = (await state.security_groups.create(ctx(), {"name": "b"}, "p1")).row.id
    await state.security_group_rules.create(ctx(), [{**tcp(a, 80), "remote_group_id": b}])
    state.events.clear()
    await state.security_groups.delete(ctx(), b)
    assert state.events == [("network.security_group.delete", {"id": b}),
                            ("network.security_group.update", {"id": a})]


async def test_the_default_group_is_made_once_however_many_ask(state):
    await asyncio.gather(*[state.security_groups.ensure_default_for("p2") for _ in range(6)])
    async with state.db.reader() as s:
        count = (await s.execute(select(func.count()).select_from(SecurityGroup)
                                 .where(SecurityGroup.project_id == "p2"))).scalar_one()
        default = await s.get(DefaultSecurityGroup, "p2")
    assert count == 1 and default is not None
    async with state.db.session() as s:
        assert await sg.ensure_default(s, "p2") == default.security_group_id


async def test_the_groups_a_port_gets(state):
    async with state.db.session() as s:
        default = await sg.resolve_for_port(s, False, "p1", None)
        assert default == [await sg.ensure_default(s, "p1")]
    other = (await state.security_groups.create(ctx("p3"), {"name": "theirs"}, "p3")).row.id
    mine = (await state.security_groups.create(ctx("p1"), {"name": "mine"}, "p1")).row.id
    async with state.db.session() as s:
        assert await sg.resolve_for_port(s, False, "p1", [mine, mine]) == [mine]
        with pytest.raises(SecurityGroupNotFound):
            await sg.resolve_for_port(s, False, "p1", [mine, other])
        assert await sg.resolve_for_port(s, True, "p1", [other]) == [other]
    await state.rbac.create(ctx("p3"), {"object_type": "security_group", "object_id": other,
                                        "action": "access_as_shared", "target_tenant": "p1"}, "p3")
    async with state.db.session() as s:
        assert await sg.resolve_for_port(s, False, "p1", [other]) == [other]
        with pytest.raises(SecurityGroupNotFound):
            await sg.resolve_for_port(s, False, "p4", [other])
