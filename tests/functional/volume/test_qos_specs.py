"""QoS specs through the openstack CLI (admins) and raw HTTP for the error bodies."""

from __future__ import annotations

from tests.functional.volume.conftest import VolumeApi


def test_qos_specs_lifecycle_and_associations(vcloud, admin_api: VolumeApi, member_api: VolumeApi):
    q = vcloud.osc("volume", "qos", "create", "--consumer", "front-end", "--property", "total_iops_sec=500",
                   "--property", "read_bytes_sec=1000", "gold-qos")
    assert (q["consumer"], q["properties"]) == ("front-end", {"total_iops_sec": "500", "read_bytes_sec": "1000"})
    vcloud.osc("volume", "qos", "set", "--property", "write_iops_sec=7", "gold-qos", json_out=False)
    vcloud.osc("volume", "qos", "unset", "--property", "read_bytes_sec", "gold-qos", json_out=False)
    shown = vcloud.osc("volume", "qos", "show", "gold-qos")
    assert shown["properties"] == {"total_iops_sec": "500", "write_iops_sec": "7"}
    vt = vcloud.osc("volume", "type", "create", "qos-type")
    vcloud.osc("volume", "qos", "associate", "gold-qos", "qos-type", json_out=False)
    shown = vcloud.osc("volume", "qos", "show", "gold-qos")
    assert shown["associations"] == ["qos-type"]
    listed = {x["Name"]: x for x in vcloud.osc("volume", "qos", "list")}
    assert listed["gold-qos"]["Associations"] == ["qos-type"]
    assert admin_api("GET", f"/types/{vt['id']}").json()["volume_type"]["qos_specs_id"] == q["id"]
    assocs = admin_api("GET", f"/qos-specs/{q['id']}/associations").json()["qos_associations"]
    assert assocs == [{"association_type": "volume_type", "name": "qos-type", "id": vt["id"]}]

    # in use: 400 unless force
    r = admin_api("DELETE", f"/qos-specs/{q['id']}")
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == f"QoS Specs {q['id']} is still associated with entities."
    other = admin_api("POST", "/qos-specs", json={"qos_specs": {"name": "silver-qos", "k": "v"}}).json()["qos_specs"]
    r = admin_api("GET", f"/qos-specs/{other['id']}/associate?vol_type_id={vt['id']}")
    assert r.status_code == 400                               # already with gold-qos
    vcloud.osc("volume", "qos", "disassociate", "--volume-type", "qos-type", "gold-qos", json_out=False)
    assert "associations" not in vcloud.osc("volume", "qos", "show", "gold-qos")   # the CLI leaves it out when empty
    vcloud.osc("volume", "qos", "associate", "gold-qos", "qos-type", json_out=False)
    vcloud.osc("volume", "qos", "disassociate", "--all", "gold-qos", json_out=False)
    assert admin_api("GET", f"/types/{vt['id']}").json()["volume_type"]["qos_specs_id"] is None
    vcloud.osc("volume", "qos", "associate", "gold-qos", "qos-type", json_out=False)
    vcloud.osc("volume", "qos", "delete", "--force", "gold-qos", json_out=False)
    assert admin_api("GET", f"/qos-specs/{q['id']}").status_code == 404
    assert admin_api("GET", f"/types/{vt['id']}").json()["volume_type"]["qos_specs_id"] is None
    vcloud.osc("volume", "qos", "delete", "silver-qos", json_out=False)
    vcloud.osc("volume", "type", "delete", "qos-type", json_out=False)


def test_bad_qos_requests(vcloud, admin_api: VolumeApi, member_api: VolumeApi):
    assert member_api("GET", "/qos-specs").status_code == 403
    assert member_api("POST", "/qos-specs", json={"qos_specs": {"name": "x"}}).status_code == 403
    q = admin_api("POST", "/qos-specs", json={"qos_specs": {"name": "dup"}})
    assert q.status_code == 200, q.text
    qid = q.json()["qos_specs"]["id"]
    r = admin_api("POST", "/qos-specs", json={"qos_specs": {"name": "dup"}})
    assert r.status_code == 409 and r.json()["conflictingRequest"]["message"] == "QoS Specs dup already exists."
    r = admin_api("POST", "/qos-specs", json={"qos_specs": {"name": "c", "consumer": "nowhere"}})
    assert r.status_code == 400 and "consumer" in r.json()["badRequest"]["message"]
    assert admin_api("POST", "/qos-specs", json={"qos_specs": {}}).status_code == 400
    assert admin_api("PUT", f"/qos-specs/{qid}", json={"qos_specs": {"consumer": "bad"}}).status_code == 400
    r = admin_api("PUT", f"/qos-specs/{qid}/delete_keys", json={"keys": ["missing"]})
    assert r.status_code == 404
    assert admin_api("GET", f"/qos-specs/{qid}/associate").status_code == 400
    assert admin_api("GET", f"/qos-specs/{qid}/associate?vol_type_id=nope").status_code == 404
    assert admin_api("GET", "/qos-specs/nope").status_code == 404
    assert admin_api("GET", "/qos-specs?sort=bogus").status_code == 400
    assert admin_api("DELETE", f"/qos-specs/{qid}").status_code == 202
