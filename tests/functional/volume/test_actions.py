"""Volume actions through the openstack CLI, openstacksdk and raw HTTP: extend, bootable, read-only,
reset status (admins), retype, revert to a snapshot, image metadata; each refusal is Cinder's
error body and leaves the volume and the quota usage as they were."""

from __future__ import annotations

import time

import openstack

from tests.functional.volume.test_snapshots import _wait_snapshot


def _usage(api, project_id):
    q = api("GET", f"/os-quota-sets/{project_id}?usage=true").json()["quota_set"]
    return q["volumes"]["in_use"], q["gigabytes"]["in_use"], q["gigabytes"]["reserved"]


def _act(api, vid, action, arg, **kw):
    return api("POST", f"/volumes/{vid}/action", json={action: arg}, **kw)


def test_extend_bootable_readonly_with_openstack_cli(vcloud, member, member_api):
    v = member.osc("volume", "create", "--size", "1", "acted")
    member_api.wait(v["id"], "available")
    member.osc("volume", "set", "--size", "3", "acted", json_out=False)
    assert member_api.wait(v["id"], "available")["size"] == 3
    assert _usage(member_api, member.project_id) == (1, 3, 0)
    member.osc("volume", "set", "--bootable", "--read-only", "acted", json_out=False)
    shown = member.osc("volume", "show", "acted")
    assert str(shown["bootable"]).lower() == "true" and shown["properties"].get("readonly") == "True"
    member.osc("volume", "set", "--non-bootable", "--read-write", "acted", json_out=False)
    shown = member.osc("volume", "show", "acted")
    assert str(shown["bootable"]).lower() == "false" and shown["properties"].get("readonly") == "False"
    # refusals: not larger, not a number, over quota, not available
    r = _act(member_api, v["id"], "os-extend", {"new_size": 3})
    assert r.status_code == 400 and "New size for extend must be greater than current size" in r.text, r.text
    assert _act(member_api, v["id"], "os-extend", {"new_size": "x"}).status_code == 400
    assert _act(member_api, v["id"], "os-extend", {}).status_code == 400
    vcloud.osc("quota", "set", "--gigabytes", "4", member.project_id, json_out=False)
    r = _act(member_api, v["id"], "os-extend", {"new_size": 5})
    assert r.status_code == 413 and "VolumeSizeExceedsAvailableQuota" in r.json()["overLimit"]["message"]
    vcloud.osc("quota", "set", "--gigabytes", "1000", member.project_id, json_out=False)
    assert member_api.wait(v["id"], "available")["size"] == 3
    assert _usage(member_api, member.project_id) == (1, 3, 0)
    # a member may not reset a status; an admin may, and then an errored volume cannot be extended
    r = _act(member_api, v["id"], "os-reset_status", {"status": "error"})
    assert r.status_code == 403, r.text
    vcloud.osc("volume", "set", "--state", "error", v["id"], json_out=False)
    r = _act(member_api, v["id"], "os-extend", {"new_size": 4})
    assert r.status_code == 400 and "must be available" in r.json()["badRequest"]["message"]
    r = _act(member_api, v["id"], "os-update_readonly_flag", {"readonly": True})
    assert r.status_code == 400
    vcloud.osc("volume", "set", "--state", "available", "--detached", v["id"], json_out=False)
    assert member_api.wait(v["id"], "available")["size"] == 3
    r = _act(vcloud_api(vcloud), v["id"], "os-reset_status", {"status": "bogus"})
    assert r.status_code == 400
    r = _act(vcloud_api(vcloud), v["id"], "os-reset_status", {})
    assert r.status_code == 400 and "Must specify" in r.text
    member.osc("volume", "delete", v["id"], json_out=False)
    member_api.wait_gone(v["id"])


def vcloud_api(vcloud):
    from tests.functional.volume.conftest import VolumeApi

    return VolumeApi(vcloud, vcloud.token())


def test_extend_with_openstacksdk(vcloud, member):
    conn = openstack.connect(auth_url=vcloud.auth_url, username=member.name, password=member.password,
                             project_id=member.project_id, user_domain_id="default")
    try:
        volume = conn.block_storage.create_volume(size=1, name="sdk-extend")
        volume = conn.block_storage.wait_for_status(volume, "available", failures=["error"], interval=0.1, wait=30)
        conn.block_storage.extend_volume(volume, 2)
        # wait_for_status answers at once for a resource already in that status: wait on the size
        # (a slower backend is still extending when the call returns).
        volume = conn.block_storage.wait_for_status(conn.block_storage.get_volume(volume.id), "available",
                                                    failures=["error", "error_extending"], interval=0.1, wait=30)
        for _ in range(300):
            if conn.block_storage.get_volume(volume.id).size == 2:
                break
            time.sleep(0.1)
        assert conn.block_storage.get_volume(volume.id).size == 2
        conn.block_storage.set_volume_bootable_status(volume, True)
        assert conn.block_storage.get_volume(volume.id).is_bootable is True
        conn.block_storage.delete_volume(volume)
        conn.block_storage.wait_for_delete(volume, interval=0.1, wait=30)
    finally:
        conn.close()


def test_revert_to_the_newest_snapshot(vcloud, member, member_api):
    vid = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    member_api.wait(vid, "available")
    old = member_api("POST", "/snapshots", json={"snapshot": {"volume_id": vid}}).json()["snapshot"]["id"]
    _wait_snapshot(member_api, old, "available")
    new = member_api("POST", "/snapshots", json={"snapshot": {"volume_id": vid}}).json()["snapshot"]["id"]
    _wait_snapshot(member_api, new, "available")
    r = _act(member_api, vid, "revert", {"snapshot_id": old})
    assert r.status_code == 400 and "not the latest one" in r.json()["badRequest"]["message"], r.text
    assert _act(member_api, vid, "revert", {"snapshot_id": new}, version="3.39").status_code == 404
    member.osc("--os-volume-api-version", "3.40", "volume", "revert", new, json_out=False)
    assert member_api.wait(vid, "available")["status"] == "available"
    assert _wait_snapshot(member_api, new, "available")["status"] == "available"
    # a snapshot smaller than the volume: no revert
    assert _act(member_api, vid, "os-extend", {"new_size": 2}).status_code == 202
    member_api.wait(vid, "available")
    r = _act(member_api, vid, "revert", {"snapshot_id": new})
    assert r.status_code == 400 and "size must be equal" in r.text
    assert member_api("DELETE", f"/volumes/{vid}?cascade=true").status_code == 202
    member_api.wait_gone(vid)


def test_retype_on_the_same_backend_and_refused_elsewhere(vcloud, member, member_api):
    vcloud.osc("volume", "type", "create", "--property", "volume_backend_name=fake", "same-backend", json_out=False)
    vcloud.osc("volume", "type", "create", "--property", "volume_backend_name=nowhere", "other-backend",
               json_out=False)
    try:
        v = member.osc("volume", "create", "--size", "1", "retyped")
        member_api.wait(v["id"], "available")
        member.osc("volume", "set", "--type", "same-backend", "--retype-policy", "never", "retyped",
                   json_out=False)
        assert member_api.wait(v["id"], "available")["volume_type"] == "same-backend"
        quota = member_api("GET", f"/os-quota-sets/{member.project_id}?usage=true").json()["quota_set"]
        assert quota["volumes_same-backend"]["in_use"] == 1 and quota["volumes___DEFAULT__"]["in_use"] == 0
        r = _act(member_api, v["id"], "os-retype", {"new_type": "other-backend", "migration_policy": "on-demand"})
        assert r.status_code == 400 and "migration is not supported" in r.text, r.text
        r = _act(member_api, v["id"], "os-retype", {"new_type": "same-backend"})
        assert r.status_code == 400 and "same as original" in r.text
        r = _act(member_api, v["id"], "os-retype", {"new_type": "no-such-type"})
        assert r.status_code == 404
        assert member_api.wait(v["id"], "available")["volume_type"] == "same-backend"
        member.osc("volume", "delete", v["id"], json_out=False)
        member_api.wait_gone(v["id"])
    finally:
        for t in ("same-backend", "other-backend"):
            vcloud.osc("volume", "type", "delete", t, json_out=False)


def test_image_metadata_actions(vcloud, member, member_api):
    vid = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    member_api.wait(vid, "available")
    member.osc("volume", "set", "--image-property", "os_distro=cirros", "--image-property", "hw_disk_bus=virtio",
               vid, json_out=False)
    shown = member.osc("volume", "show", vid)
    assert shown["volume_image_metadata"] == {"os_distro": "cirros", "hw_disk_bus": "virtio"}
    r = _act(member_api, vid, "os-show_image_metadata", None)
    assert r.status_code == 200 and r.json() == {"metadata": {"os_distro": "cirros", "hw_disk_bus": "virtio"}}
    member.osc("volume", "unset", "--image-property", "hw_disk_bus", vid, json_out=False)
    assert _act(member_api, vid, "os-show_image_metadata", None).json() == {"metadata": {"os_distro": "cirros"}}
    r = _act(member_api, vid, "os-unset_image_metadata", {"key": "nope"})
    assert r.status_code == 404 and "itemNotFound" in r.json()
    r = _act(member_api, vid, "os-set_image_metadata", {"metadata": "x"})
    assert r.status_code == 400
    assert member_api("DELETE", f"/volumes/{vid}").status_code == 202


def test_extend_in_use_from_3_42(vcloud, member, member_api, admin_api):
    vid = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    member_api.wait(vid, "available")
    assert _act(admin_api, vid, "os-reset_status", {"status": "in-use", "attach_status": "attached"}).status_code == 202
    r = _act(member_api, vid, "os-extend", {"new_size": 2}, version="3.41")
    assert r.status_code == 400 and "must be available to extend" in r.json()["badRequest"]["message"], r.text
    r = _act(member_api, vid, "os-update_readonly_flag", {"readonly": True})
    assert r.status_code == 400 and "must be available to update readonly flag" in r.text
    assert _act(member_api, vid, "os-extend", {"new_size": 2}, version="3.42").status_code == 202
    volume = member_api.wait(vid, "in-use")
    assert volume["size"] == 2
    assert _usage(member_api, member.project_id) == (1, 2, 0)
    assert _act(admin_api, vid, "os-reset_status", {"status": "available", "attach_status": "detached"}).status_code == 202
    assert member_api("DELETE", f"/volumes/{vid}").status_code == 202


def test_actions_on_a_volume_that_never_reached_a_backend(vcloud, member, member_api, admin_api):
    vcloud.osc("volume", "type", "create", "--property", "volume_backend_name=nowhere", "act-nowhere",
               json_out=False)
    try:
        vid = member_api("POST", "/volumes", json={"volume": {"size": 1, "volume_type": "act-nowhere"}}).json()[
            "volume"]["id"]
        member_api.wait(vid, "error")
        assert _act(admin_api, vid, "os-reset_status", {"status": "available"}).status_code == 202
        for action, arg in (("os-extend", {"new_size": 2}),
                            ("os-volume_upload_image", {"image_name": "never"})):
            r = _act(member_api, vid, action, arg)
            assert r.status_code == 400 and "on no backend" in r.json()["badRequest"]["message"], r.text
        assert member_api.wait(vid, "available")["size"] == 1
        assert _usage(member_api, member.project_id) == (1, 1, 0)
        assert member_api("DELETE", f"/volumes/{vid}").status_code == 202
        member_api.wait_gone(vid)
    finally:
        vcloud.osc("volume", "type", "delete", "act-nowhere", json_out=False)
