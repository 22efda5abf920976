"""Container and account quotas (Swift's container_quotas and account_quotas).

A container's owners set ``X-Container-Meta-Quota-Bytes`` and ``-Quota-Count``; an object write
that would take the container past either is refused, 413 ``Upload exceeds quota.``. An
account's ``X-Account-Meta-Quota-Bytes`` may be set only by a reseller admin (403 for anyone
else, its owners included); writes past it are refused the same way. A chunked upload counts
as 0 bytes when checked, as in Swift."""

from __future__ import annotations

from typing import Any

from nubes.object.proxy import info
from nubes.object.proxy.base import Cluster
from nubes.object.proxy.errors import SwiftError

BYTES, COUNT = "x-container-meta-quota-bytes", "x-container-meta-quota-count"
ACCOUNT_BYTES = "x-account-meta-quota-bytes"
REMOVE_ACCOUNT_BYTES = "x-remove-account-meta-quota-bytes"


def check_container_headers(headers: Any) -> None:
    """A container PUT or POST's quotas are integers (empty removes one)."""
    for name, what in ((BYTES, "bytes"), (COUNT, "count")):
        value = headers.get(name)
        if value and not value.isdigit():
            raise SwiftError(400, f"Invalid {what} quota.")


def check_account_headers(req: Any) -> None:
    """Only a reseller admin sets or removes the account's quota (policy
    ``object:set_account_quota``)."""
    value = req.headers.get(ACCOUNT_BYTES)
    if value is None and REMOVE_ACCOUNT_BYTES not in req.headers:
        return
    if not req.ctx.allowed("object:set_account_quota", {"project_id": req.ctx.project_id}):
        raise SwiftError(403)
    if value and not value.isdigit():
        raise SwiftError(400)


def _exceeds(limit: str | None, used: str | None, adding: int) -> bool:
    return bool(limit and limit.isdigit() and int(used or 0) + adding > int(limit))


async def check_upload(cluster: Cluster, req: Any, account: str, container: str,
                       length: int | None) -> None:
    """413 when writing ``length`` more bytes (one more object) to the container would pass
    its quotas or the account's."""
    size = length or 0
    record = await info.container_info(cluster, req, account, container)
    if record is not None and (
            _exceeds(record.get(BYTES), record.get("x-container-bytes-used"), size)
            or _exceeds(record.get(COUNT), record.get("x-container-object-count"), 1)):
        raise SwiftError(413, "Upload exceeds quota.")
    account_record = await info.account_info(cluster, req, account)
    if _exceeds(account_record.get(ACCOUNT_BYTES), account_record.get("x-account-bytes-used"),
                size):
        raise SwiftError(413, "Upload exceeds quota.")
