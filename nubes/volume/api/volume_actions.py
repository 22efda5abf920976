"""POST /volumes/{volume_id}/action: the body names one action. Cinder's actions are known here;
those served are dispatched to their modules (``SERVED``), the others answer 501
(docs/api-coverage.md), an unknown one is a 400 as in Cinder."""

from __future__ import annotations

from nubes.core.api.http import Request, read_json
from nubes.volume import exceptions as exc
from nubes.volume.api import volume_actions_image, volume_actions_state, volume_attach_actions
from nubes.volume.api.volumes import _owned

# action name -> handler(req, the action's body); one block per module that serves some
SERVED = {**volume_actions_state.HANDLERS, **volume_actions_image.HANDLERS, **volume_attach_actions.HANDLERS}
SNAPSHOT_SERVED = {**volume_actions_state.SNAPSHOT_HANDLERS}

ACTIONS = frozenset({
    "os-extend", "os-set_bootable", "os-update_readonly_flag", "os-reset_status", "os-force_delete",
    "os-force_detach", "os-migrate_volume", "os-migrate_volume_completion", "os-retype",
    "os-volume_upload_image", "os-attach", "os-detach", "os-reserve", "os-unreserve", "os-begin_detaching",
    "os-roll_detaching", "os-initialize_connection", "os-terminate_connection", "os-set_image_metadata",
    "os-unset_image_metadata", "os-show_image_metadata", "os-update_snapshot_status", "revert",
    "os-reimage", "os-extend_volume_completion", "os-unmanage", "os-enable_replication",
    "os-disable_replication", "os-failover_replication", "os-list_replication_targets",
})


async def volume_action(req: Request):
    body = await read_json(req)
    if not isinstance(body, dict) or len(body) != 1:
        raise exc.BadRequest("Malformed request body: name exactly one action.")
    (action,) = body
    if action not in ACTIONS:
        raise exc.BadRequest(f"There is no such action: {action}")
    await _owned(req, "volume:get")
    if action in SERVED:
        return await SERVED[action](req, body[action])
    raise exc.NotImplementedYet(f"The volume action {action} is not implemented by this cloud yet "
                                "(see docs/api-coverage.md, POST /volumes/{id}/action).")


SNAPSHOT_ACTIONS = frozenset({"os-reset_status", "os-update_snapshot_status", "os-force_delete", "os-unmanage"})


async def snapshot_action(req: Request):
    from nubes.volume.api.snapshots import _owned as owned_snapshot

    body = await read_json(req)
    if not isinstance(body, dict) or len(body) != 1:
        raise exc.BadRequest("Malformed request body: name exactly one action.")
    (action,) = body
    if action not in SNAPSHOT_ACTIONS:
        raise exc.BadRequest(f"There is no such action: {action}")
    await owned_snapshot(req, "volume:get_snapshot")
    if action in SNAPSHOT_SERVED:
        return await SNAPSHOT_SERVED[action](req, body[action])
    raise exc.NotImplementedYet(f"The snapshot action {action} is not implemented by this cloud yet "
                                "(see docs/api-coverage.md, POST /snapshots/{id}/action).")
