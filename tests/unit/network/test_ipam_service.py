"""IPAM and ports at the service layer on a scratch SQLite database (the real migrations):
default and requested addresses, exhaustion, internal ports, status reports, update semantics."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from nubes.core.config import Config, CoreConfig
from nubes.core.context import RequestContext
from nubes.core.db import migrate
from nubes.core.db.session import Database
from nubes.core.service import Runtime
from nubes.network import SPEC
from nubes.network import exceptions as exc
from nubes.network.conf import NetworkConfig
from nubes.network.db.models import IPAllocation
from nubes.network.service import ports as port_service
from nubes.network.service import transactions
from nubes.network.service.runtime import NetworkState

ADMIN = RequestContext(project_id="p-admin", roles=["admin", "member", "reader"])


def allow(*_a):
    return None


@pytest.fixture
async def state(tmp_path):
    config = Config(core=CoreConfig(state_dir=tmp_path))
    config.services["network"] = NetworkConfig()
    db = Database(config.database_url("network"))
    await migrate.upgrade(db, "network", SPEC.migrations, SPEC.metadata())
    st = NetworkState(Runtime(name="network", conf=config, db=db, bus=None))
    yield st
    await db.close()


async def network_with_subnet(st, cidr="10.9.0.0/24", **subnet):
    net = await st.networks.create(ADMIN, {"name": "n"}, "p-admin")
    sub = await st.subnets.create(ADMIN, {"network_id": net.row.id, "ip_version": 4 if ":" not in cidr else 6,
                                          "cidr": cidr, **subnet}, "p-admin", allow)
    return net.row.id, sub.row


async def allocations(st, subnet_id):
    async with st.db.reader() as s:
        return (await s.execute(select(func.count()).select_from(IPAllocation)
                                .where(IPAllocation.subnet_id == subnet_id))).scalar_one()


async def test_default_address_is_random_among_the_first_free(state):
    net_id, sub = await network_with_subnet(state)
    port = await state.ports.create(ADMIN, {"network_id": net_id}, "p-admin", allow)
    ip = port.row.fixed_ips[0].ip_address
    assert port.row.fixed_ips[0].subnet_id == sub.id
    last = int(ip.rsplit(".", 1)[1])
    assert 2 <= last < 2 + 16
    assert port.row.status == "DOWN" and port.row.mac_address.startswith("fa:16:3e:")


async def test_requested_addresses_and_errors(state):
    net_id, sub = await network_with_subnet(state)
    port = await state.ports.create(ADMIN, {"network_id": net_id, "fixed_ips": [
        {"subnet_id": sub.id, "ip_address": "10.9.0.50"}, {"ip_address": "10.9.0.51"}, {"subnet_id": sub.id}]},
        "p-admin", allow)
    got = [a.ip_address for a in sorted(port.row.fixed_ips, key=lambda a: a.position)]
    assert got[:2] == ["10.9.0.50", "10.9.0.51"] and got[2] not in got[:2]
    errors = [
        ([{"ip_address": "10.9.0.50"}], exc.IpAddressAlreadyAllocated),
        ([{"subnet_id": sub.id, "ip_address": "10.9.1.5"}], exc.InvalidIpForSubnet),
        ([{"ip_address": "192.0.2.5"}], exc.InvalidIpForNetwork),
        ([{"subnet_id": sub.id, "ip_address": "10.9.0.255"}], exc.InvalidIpForSubnet),
        ([{}], exc.InvalidInput),
    ]
    for fixed, error in errors:
        with pytest.raises(error):
            await state.ports.create(ADMIN, {"network_id": net_id, "fixed_ips": fixed}, "p-admin", allow)
    assert await allocations(state, sub.id) == 3    # failed creates left nothing behind
    none = await state.ports.create(ADMIN, {"network_id": net_id, "fixed_ips": []}, "p-admin", allow)
    assert none.row.fixed_ips == []


async def test_exhaustion_is_ip_address_generation_failure(state):
    net_id, sub = await network_with_subnet(state, allocation_pools=[{"start": "10.9.0.10", "end": "10.9.0.14"}])
    ips = set()
    for _ in range(5):
        port = await state.ports.create(ADMIN, {"network_id": net_id}, "p-admin", allow)
        ips.add(port.row.fixed_ips[0].ip_address)
    assert ips == {f"10.9.0.{i}" for i in range(10, 15)}
    with pytest.raises(exc.IpAddressGenerationFailure) as e:
        await state.ports.create(ADMIN, {"network_id": net_id}, "p-admin", allow)
    assert e.value.status == 409 and net_id in e.value.message
    # the gateway (outside the pool) can still be asked for explicitly, e.g. by a router
    gw = await state.ports.create(ADMIN, {"network_id": net_id, "fixed_ips": [{"ip_address": "10.9.0.1"}],
                                          "device_owner": "network:router_interface"}, "p-admin", allow)
    assert gw.row.fixed_ips[0].ip_address == "10.9.0.1"


async def test_concurrent_creates_never_share_an_address(state):
    net_id, sub = await network_with_subnet(state, allocation_pools=[{"start": "10.9.0.10", "end": "10.9.0.29"}])

    async def one():
        try:
            port = await state.ports.create(ADMIN, {"network_id": net_id}, "p-admin", allow)
            return port.row.fixed_ips[0].ip_address
        except exc.IpAddressGenerationFailure:
            return None

    results = await asyncio.gather(*(one() for _ in range(30)))
    got = [r for r in results if r]
    assert len(got) == 20 and len(set(got)) == 20 and results.count(None) == 10
    assert await allocations(state, sub.id) == 20


async def test_slaac_subnet_gives_eui64_addresses_to_old_and_new_ports(state):
    net_id, v4 = await network_with_subnet(state)
    before = await state.ports.create(ADMIN, {"network_id": net_id}, "p-admin", allow)
    v6 = await state.subnets.create(ADMIN, {"network_id": net_id, "ip_version": 6, "cidr": "fd00:9::/64",
                                            "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}, "p-admin", allow)
    shown = await state.ports.show(ADMIN, before.row.id)
    from nubes.network.service.addresses import eui64

    assert {a.ip_address for a in shown.row.fixed_ips} >= {eui64("fd00:9::/64", before.row.mac_address)}
    after = await state.ports.create(ADMIN, {"network_id": net_id}, "p-admin", allow)
    subnets = {a.subnet_id for a in after.row.fixed_ips}
    assert subnets == {v4.id, v6.row.id}
    with pytest.raises(exc.AllocationOnAutoAddressSubnet):
        await state.ports.create(ADMIN, {"network_id": net_id, "fixed_ips": [
            {"subnet_id": v6.row.id, "ip_address": "fd00:9::5"}]}, "p-admin", allow)
    # deleting an auto-address subnet takes its addresses off user ports instead of refusing
    await state.subnets.delete(ADMIN, v6.row.id, allow)
    assert {a.subnet_id for a in (await state.ports.show(ADMIN, after.row.id)).row.fixed_ips} == {v4.id}


async def test_update_keeps_adds_and_releases(state):
    net_id, sub = await network_with_subnet(state)
    port = await state.ports.create(ADMIN, {"network_id": net_id, "fixed_ips": [{"ip_address": "10.9.0.40"}]},
                                    "p-admin", allow)
    rev = port.row.revision_number
    port = await state.ports.update(ADMIN, port.row.id, {"fixed_ips": [
        {"subnet_id": sub.id, "ip_address": "10.9.0.40"}, {"subnet_id": sub.id}]}, allow)
    ips = [a.ip_address for a in port.row.fixed_ips]
    assert "10.9.0.40" in ips and len(ips) == 2 and port.row.revision_number == rev + 1
    port = await state.ports.update(ADMIN, port.row.id, {"fixed_ips": [{"ip_address": "10.9.0.41"}]}, allow)
    assert [a.ip_address for a in port.row.fixed_ips] == ["10.9.0.41"]
    assert await allocations(state, sub.id) == 1
    other = await state.ports.create(ADMIN, {"network_id": net_id, "fixed_ips": [{"ip_address": "10.9.0.40"}]},
                                     "p-admin", allow)
    assert other.row.fixed_ips[0].ip_address == "10.9.0.40"   # released addresses are free again


async def test_internal_ports_and_status(state):
    net_id, sub = await network_with_subnet(state)

    async def make(s):
        row = await port_service.create_internal(s, state, network_id=net_id, project_id="p-admin",
                                                 device_owner="network:dhcp", device_id="dhcp-host1",
                                                 fixed_ips=[{"subnet_id": sub.id}])
        return row.id, [a.ip_address for a in row.fixed_ips], [g.security_group_id for g in row.security_groups]

    port_id, ips, groups = await transactions.write(state.db, make)
    assert len(ips) == 1 and groups == []      # network ports get no security groups
    assert await state.ports.set_status(port_id, "ACTIVE") is True
    shown = await state.ports.show(ADMIN, port_id)
    assert shown.row.status == "ACTIVE" and shown.row.device_owner == "network:dhcp"
    # a DHCP port does not keep its subnet from being deleted
    await state.subnets.delete(ADMIN, sub.id, allow)
    assert await transactions.write(state.db, lambda s: port_service.delete_internal(s, port_id)) == (net_id, "")
    assert await state.ports.set_status(port_id, "ACTIVE") is False
