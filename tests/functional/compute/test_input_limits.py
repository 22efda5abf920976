"""Numbers past the columns and corrupt key pairs answer as Nova does, never a 500."""

from __future__ import annotations

from tests.functional.compute.conftest import unique

HUGE = "18446744073709551616"


def test_min_ram_and_min_disk_past_any_flavor_match_none(api):
    for query in (f"minRam={HUGE}", f"minDisk={HUGE}", f"minRam={HUGE}&minDisk={HUGE}"):
        for path in ("/flavors", "/flavors/detail"):
            r = api("GET", f"{path}?{query}")
            assert r.status_code == 200, r.text
            assert r.json()["flavors"] == []
    assert "Invalid minRam filter" in api.fault(api("GET", "/flavors?minRam=-1"), 400)


def test_a_corrupt_public_key_is_nova_400(api):
    key = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1SNpfPwkAt1iStcQNzGm4zVOY8XfXDP3fOXO9AdnA "
           "fuzz@nubes")
    wanted = {"badRequest": {"code": 400,
                             "message": "Keypair data is invalid: failed to generate fingerprint"}}
    for corrupt in (key[:40], key.replace("AAAAC3", "AAAAC3*", 1),
                    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCgarbage"):
        name = unique("bad")
        r = api("POST", "/os-keypairs", json={"keypair": {"name": name, "public_key": corrupt}})
        assert r.status_code == 400, r.text
        assert r.json() == wanted
        assert api("GET", f"/os-keypairs/{name}").status_code == 404


def test_an_aggregate_id_past_64_bits_is_not_found(api):
    for method in ("GET", "PUT", "DELETE"):
        kw = {"json": {"aggregate": {"name": "x"}}} if method == "PUT" else {}
        r = api(method, f"/os-aggregates/{HUGE}", **kw)
        assert api.fault(r, 404) == f"Aggregate {HUGE} could not be found."
    assert "must be an integer" in api.fault(api("GET", "/os-aggregates/abc"), 400)


def test_quota_limits_sent_as_huge_strings_are_held_to_nova_maximum(api, member):
    r = api("PUT", f"/os-quota-sets/{member.project_id}", json={"quota_set": {"instances": HUGE}})
    assert api.fault(r, 400) == (f"Invalid input for field/attribute instances. Value: {HUGE}. "
                                 f"{HUGE} is greater than the maximum of 2147483647")
    r = api("PUT", f"/os-quota-sets/{member.project_id}", json={"quota_set": {"instances": "12"}})
    assert r.status_code == 200 and r.json()["quota_set"]["instances"] == 12


def test_paging_and_filters_past_64_bits_are_answered(api):
    for path in (f"/os-keypairs?limit={HUGE}", f"/os-server-groups?offset={HUGE}", f"/servers?limit={HUGE}",
                 f"/os-server-groups?limit={HUGE}", f"/servers/detail?progress={HUGE}"):
        r = api("GET", path)
        assert r.status_code == 200, f"{path}: {r.text}"
    assert api("GET", f"/servers/detail?progress={HUGE}").json()["servers"] == []
