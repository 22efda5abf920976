"""Cinder's filters and weigher over reported pools: zones, thin/thick capacity, extra specs."""

from __future__ import annotations

from nubes.volume.scheduler import filters


def pool(name: str, *, zone: str = "nova", total: float = 100, free: float = 100, provisioned: float = 0,
         ratio: float = 20.0, reserved: int = 0, thin: bool = True, **caps) -> dict:
    return {"name": f"h@{name}#{name}", "host": f"h@{name}", "availability_zone": zone, "capabilities": {
        "volume_backend_name": name, "total_capacity_gb": total, "free_capacity_gb": free,
        "provisioned_capacity_gb": provisioned, "max_over_subscription_ratio": ratio,
        "reserved_percentage": reserved, "thin_provisioning_support": thin,
        "thick_provisioning_support": not thin, **caps}}


def req(size: int = 1, zone: str | None = None, **specs) -> dict:
    return {"size": size, "availability_zone": zone, "extra_specs": specs}


def test_zone_filter():
    assert filters.availability_zone_passes(pool("a", zone="z1"), req(zone="z1"))
    assert not filters.availability_zone_passes(pool("a", zone="z1"), req(zone="z2"))
    assert filters.availability_zone_passes(pool("a", zone="z1"), req())


def test_thin_capacity_honours_the_over_subscription_ratio():
    # 100 GiB pool, ratio 2: 200 GiB may be promised
    p = pool("a", total=100, free=100, provisioned=150, ratio=2.0)
    assert filters.capacity_passes(p, req(50))
    assert not filters.capacity_passes(p, req(51))
    # more than the pool itself, within the ratio
    assert filters.capacity_passes(pool("a", total=10, free=10, ratio=20.0), req(150))


def test_reserved_percentage_is_kept_free():
    thick = pool("a", total=100, free=30, reserved=25, thin=False)
    assert filters.capacity_passes(thick, req(5))
    assert not filters.capacity_passes(thick, req(6))
    # thin: the reserved part scaled by the ratio is what stays free
    thin = pool("a", total=100, free=30, reserved=25, ratio=1.0)
    assert filters.capacity_passes(thin, req(5)) and not filters.capacity_passes(thin, req(6))


def test_thick_request_on_a_thin_only_pool_needs_real_free_space():
    p = pool("a", total=100, free=10, provisioned=90)
    assert not filters.capacity_passes(p, req(20, **{"provisioning:type": "thick"}))
    assert filters.capacity_passes(p, req(20))


def test_capabilities_filter_matches_extra_specs():
    p = pool("gold", multiattach=True, storage_protocol="file")
    assert filters.capabilities_pass(p, req(volume_backend_name="gold"))
    assert not filters.capabilities_pass(p, req(volume_backend_name="silver"))
    assert filters.capabilities_pass(p, req(multiattach="<is> True"))
    assert filters.capabilities_pass(p, req(**{"capabilities:storage_protocol": "<in> fil"}))
    assert filters.capabilities_pass(p, req(volume_backend_name="<or> silver <or> gold"))
    assert filters.capabilities_pass(p, req(total_capacity_gb=">= 50"))
    assert not filters.capabilities_pass(p, req(total_capacity_gb=">= 500"))
    # an unscoped spec the backend does not report fails (Cinder's CapabilitiesFilter)
    assert not filters.capabilities_pass(p, req(color="blue"))
    # scoped specs belong to others (QoS, the driver) and are not matched
    assert filters.capabilities_pass(p, req(**{"qos:maxIOPS": "100", "RESKEY:availability_zones": "x"}))
    assert not filters.capabilities_pass(pool("x", multiattach=False), req(multiattach="<is> True"))


def test_capacity_weigher_picks_the_most_free_virtual_capacity():
    pools = [pool("a", total=100, provisioned=1500), pool("b", total=100, provisioned=100),
             pool("c", total=100, provisioned=900)]
    chosen, steps = filters.select(pools, req(1))
    assert chosen["name"] == "h@b#b"
    assert steps == ["AvailabilityZoneFilter: 3", "CapacityFilter: 3", "CapabilitiesFilter: 3"]


def test_select_says_which_filter_left_nothing():
    chosen, steps = filters.select([pool("a")], req(1, volume_backend_name="nowhere"))
    assert chosen is None and steps[-1] == "CapabilitiesFilter: 0"
