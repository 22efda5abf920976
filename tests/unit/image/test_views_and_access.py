"""The wire view of an image, and who may see it before any policy runs."""

from datetime import UTC, datetime

import pytest

from nubes.core.auth.policy import Enforcer
from nubes.core.context import RequestContext
from nubes.core.exceptions import PolicyNotAuthorized
from nubes.image import policies
from nubes.image.api import views
from nubes.image.api.policy import ImagePolicy
from nubes.image.exceptions import ImageNotFound
from nubes.image.service import access, schemas
from nubes.image.service.records import ImageRecord, Location

WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def _image(**kw) -> ImageRecord:
    base = dict(id="11111111-2222-3333-4444-555555555555", name="cirros", status="active",
                visibility="shared", owner="p1", size=10, virtual_size=10, checksum="c" * 32,
                os_hash_algo="sha512", os_hash_value="h" * 128, disk_format="raw",
                container_format="bare", min_disk=0, min_ram=0, protected=False, os_hidden=False,
                created_at=WHEN, updated_at=WHEN)
    base.update(kw)
    return ImageRecord(**base)


def test_image_view_fields():
    rec = _image(properties={"hw_disk_bus": "scsi", "legacy": None, "kernel_id": None,
                             "os_glance_stage_host": "x"}, tags=["a"],
                 locations=[Location("fast", "file:///x", 10), Location("slow", "file:///y", 10)])
    props = schemas.image_schema(["raw"], ["bare"])["properties"]
    v = views.image(rec, props)
    assert v["created_at"] == "2024-05-06T07:08:09Z" and v["stores"] == "fast,slow"
    assert v["self"] == f"/v2/images/{rec.id}" and v["file"].endswith("/file")
    assert v["hw_disk_bus"] == "scsi" and v["legacy"] == "" and v["kernel_id"] is None
    assert "os_glance_stage_host" not in v and v["tags"] == ["a"]
    assert schemas.problem(schemas.image_schema(["raw"], ["bare"]), v) is None


def test_no_stores_key_without_data():
    assert "stores" not in views.image(_image(status="queued", size=None), {})


def _ctx(project: str, *roles: str) -> RequestContext:
    ctx = RequestContext(project_id=project, roles=list(roles))
    ctx.enforcer = Enforcer(policies.DEFAULTS, None)
    return ctx


def test_who_sees_what():
    member = _ctx("p2", "member", "reader")
    admin = _ctx("p9", "admin", "member", "reader")
    assert access.can_see(admin, _image(visibility="private"), False)
    assert not access.can_see(member, _image(visibility="private"), True)   # members of private: no
    assert access.can_see(member, _image(visibility="shared"), True)
    assert not access.can_see(member, _image(visibility="shared"), False)
    assert access.can_see(member, _image(visibility="community"), False)
    assert access.can_see(_ctx("p1", "reader"), _image(visibility="private"), False)


def test_policy_failures_hide_invisible_images():
    member = _ctx("p2", "member", "reader")
    with pytest.raises(PolicyNotAuthorized):          # visible: 403
        ImagePolicy(member).image(policies.DELETE_IMAGE, _image(visibility="public"), False)
    with pytest.raises(ImageNotFound):                # not even visible: 404
        ImagePolicy(member).image(policies.DELETE_IMAGE, _image(visibility="private"), False)
    ImagePolicy(member).image(policies.GET_IMAGE, _image(visibility="shared"), True)
