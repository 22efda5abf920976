"""Soft delete on a cloud of its own with ``reclaim_instance_interval`` set: a delete powers the
server off and keeps it (SOFT_DELETED), ``restore`` brings it back, ``forceDelete`` deletes it now,
and the conductor reclaims it once the interval is over; on the shared cloud (interval 0) a
delete is immediate and ``restore`` finds nothing to restore."""

from __future__ import annotations

from datetime import datetime

import openstack
import pytest

from tests.cloud import start_cloud, stop_cloud
from tests.functional.compute.conftest import FAKE_HOSTS, ComputeApi, make_member
from tests.functional.compute.servers_fixtures import action, boot, make_world, wait_gone, wait_status

RECLAIM = 10


@pytest.fixture(scope="module")
def dedicated_reclaim_cloud(tmp_path_factory):
    cloud = start_cloud(tmp_path_factory.mktemp("reclaim-state"),
                        services="identity,image,placement,network,compute",
                        names=("identity", "image", "placement", "network", "compute"),
                        extra_env={"NUBES_COMPUTE__FAKE_HOSTS": str(FAKE_HOSTS),
                                   "NUBES_COMPUTE__REPORT_INTERVAL": "1",
                                   "NUBES_COMPUTE__RECLAIM_INSTANCE_INTERVAL": str(RECLAIM)})
    yield cloud
    stop_cloud(cloud)


@pytest.fixture(scope="module")
def api(dedicated_reclaim_cloud):
    return ComputeApi(dedicated_reclaim_cloud, dedicated_reclaim_cloud.token())


@pytest.fixture(scope="module")
def world(dedicated_reclaim_cloud, tmp_path_factory):
    return make_world(dedicated_reclaim_cloud, tmp_path_factory.mktemp("reclaim"))


def test_delete_restore_and_force_delete(dedicated_reclaim_cloud, api, world, tmp_path):
    m = make_member(dedicated_reclaim_cloud, tmp_path)
    sid = boot(m.api, world)
    assert m.api("DELETE", f"/servers/{sid}").status_code == 204
    s = wait_status(m.api, sid, ("SOFT_DELETED",))
    assert s["OS-EXT-STS:vm_state"] == "soft-delete" and s["OS-EXT-STS:power_state"] == 4
    assert m.api.fault(action(m.api, sid, {"os-start": None}), 409)
    # the member restores it through openstacksdk
    conn = openstack.connect(auth_url=dedicated_reclaim_cloud.url("identity", "/v3"), token=m.api.token,
                             auth_type="token", project_id=m.project_id)
    conn.compute.restore_server(sid)
    s = wait_status(m.api, sid, ("ACTIVE",))
    assert s["OS-EXT-STS:power_state"] == 1 and s["OS-EXT-STS:task_state"] is None
    names = [a["action"] for a in m.api("GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]]
    assert names[:2] == ["restore", "delete"]
    assert "vm_state active" in m.api.fault(action(m.api, sid, {"restore": None}), 409)
    assert m.api.fault(action(m.api, sid, {"forceDelete": None}), 409)
    # soft-deleted again, then deleted at once
    assert m.api("DELETE", f"/servers/{sid}").status_code == 204
    wait_status(m.api, sid, ("SOFT_DELETED",))
    assert action(m.api, sid, {"forceDelete": None}).status_code == 202
    wait_gone(m.api, sid)


def test_reclaimed_after_the_interval(api, world):
    sid = boot(api, world)
    assert api("DELETE", f"/servers/{sid}").status_code == 204
    wait_status(api, sid, ("SOFT_DELETED",))
    wait_gone(api, sid, timeout=RECLAIM * 6)
    # The one delete action: soft-deleted by the agent, terminated no sooner than the interval after.
    (delete,) = [a for a in api("GET", f"/servers/{sid}/os-instance-actions", version="2.21").json()[
        "instanceActions"] if a["action"] == "delete"]
    shown = api("GET", f"/servers/{sid}/os-instance-actions/{delete['request_id']}", version="2.21").json()
    events = {e["event"]: e for e in shown["instanceAction"]["events"]}
    assert events["compute_soft_delete_instance"]["result"] == "Success"
    assert events["compute_terminate_instance"]["result"] == "Success"
    began = datetime.fromisoformat(delete["start_time"])
    ended = datetime.fromisoformat(events["compute_terminate_instance"]["finish_time"])
    assert (ended - began).total_seconds() >= RECLAIM

