"""The object-storage backup store: backups as objects of the Swift API (Cinder's Swift driver).

A backup lives in its project's account (``AUTH_<project id>``, as Cinder's default
``backup_swift_auth = per_user``: the owner sees the container in their own account), in the
backup's container (default ``volumebackups``)::

    <backup id>/chunks/<index>     the bytes of one chunk (only chunks this backup stores)
    <backup id>/metadata.json      what the backup holds (see engine.py), written LAST

so a backup whose ``metadata.json`` is there is complete. Objects of a create that did not finish
(a crash, an upload that failed) have no ``metadata.json``; the worker's reconcile of the backup
left ``creating``, or the delete of a backup in ``error``, removes every object under the prefix.
An account cannot be listed from outside, so the store finds no partials by itself: they are
always found through their backup's record.

The store calls the object service with the service user's token: the ``ResellerAdmin`` role
(granted at bootstrap) lets it into every account. The account's URL is the catalog's
``object-store`` endpoint (the internal one, substituted with the service user's project) with
that project's account replaced by the backup's. The calls run in the engine's threads through
a synchronous httpx client; the token and the endpoint come from the event loop's ServiceClients
(``LoopAuth``), and a 401 gets a fresh token once. As Cinder's Swift driver
(``backup_swift_retry_attempts`` 3, ``backup_swift_retry_backoff`` 2 s), a call that cannot
connect or is answered 5xx is tried again, after 2, then 4 seconds: every call is idempotent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx

from nubes.core.exceptions import CloudError
from nubes.volume.backup.store import Location, StoreError, chunk_name

LOG = logging.getLogger(__name__)
METADATA = "metadata.json"
RESELLER_PREFIX = "AUTH_"
UPLOADS = 4                 # chunks a backup keeps uploading while it reads and hashes the next ones
LISTING_LIMIT = 1000
_ACCOUNT_AT_END = re.compile(rf"/{RESELLER_PREFIX}[^/]*$")
_TAG = re.compile(r"<[^>]*>")


def project_account(project_id: str) -> str:
    return f"{RESELLER_PREFIX}{project_id}"


def account_url(endpoint: str, account: str) -> str:
    """The URL of ``account`` from the catalog's object-store URL of the service project's."""
    endpoint = endpoint.rstrip("/")
    if _ACCOUNT_AT_END.search(endpoint):
        return _ACCOUNT_AT_END.sub(lambda _m: f"/{quote(account)}", endpoint)
    return f"{endpoint}/{quote(account)}"


class LoopAuth:
    """The service token and the object-store endpoint for the store's threads, fetched by the
    event loop's ServiceClients (which cache them)."""

    def __init__(self, clients: Any, loop: asyncio.AbstractEventLoop, timeout: float = 60.0) -> None:
        self.clients = clients
        self.loop = loop
        self.timeout = timeout

    def _on_loop(self, coro: Any) -> Any:
        try:
            return asyncio.run_coroutine_threadsafe(coro, self.loop).result(self.timeout)
        except CloudError as err:
            raise StoreError(f"object storage is not reachable: {err.message}") from None
        except TimeoutError:
            raise StoreError("object storage is not reachable: identity did not answer in time") from None

    def endpoint(self) -> str:
        return self._on_loop(self.clients.endpoint("object-store"))

    def token(self, fresh: bool = False) -> str:
        async def get() -> str:
            if fresh:
                self.clients.tokens.forget_service_token()
            return await self.clients.tokens.service_token()
        return self._on_loop(get())


class ObjectStore:
    kind = "object"
    read_ahead = 4          # chunks a restore fetches ahead of the one it checks and writes

    def __init__(self, auth: Any, *, http: httpx.Client | None = None, timeout: float = 120.0,
                 retries: int = 3, backoff: float = 2.0) -> None:
        self.auth = auth                # endpoint() and token(fresh=False), callable from threads
        self.http = http or httpx.Client(timeout=timeout, limits=httpx.Limits(max_connections=16))
        self.retries, self.backoff = retries, backoff

    def close(self) -> None:
        self.http.close()

    def _url(self, where: Location, name: str = "") -> str:
        if not where.account:
            raise StoreError(f"backup container {where.container} names no object-storage account")
        url = f"{account_url(self.auth.endpoint(), where.account)}/{quote(where.container, safe='')}"
        return f"{url}/{quote(name)}" if name else url

    def _call(self, method: str, url: str, *, headers: dict[str, str] | None = None,
              **kwargs: Any) -> httpx.Response:
        for fresh in (False, True):         # a token refused (expired, revoked): a new one, once
            sent = {**(headers or {}), "X-Auth-Token": self.auth.token(fresh)}
            resp = self._with_retries(method, url, headers=sent, **kwargs)
            if resp.status_code != 401:
                return resp
        raise StoreError("object storage refused the backup service's token (401)")

    def _with_retries(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(1, self.retries + 1):
            try:
                resp = self.http.request(method, url, **kwargs)
            except httpx.HTTPError as err:
                if attempt == self.retries:
                    raise StoreError(f"object storage is not reachable: {err}") from None
                status: Any = "unreachable"
            else:
                if resp.status_code < 500 or attempt == self.retries:
                    return resp
                status = resp.status_code
            LOG.info("object storage: %s %s %s, trying again", method, url, status)
            time.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _check(self, resp: httpx.Response, what: str, ok: tuple[int, ...]) -> httpx.Response:
        if resp.status_code not in ok:
            detail = " ".join(_TAG.sub(" ", resp.text[:300]).split())        # Swift's errors are short HTML
            raise StoreError(f"object storage answered {resp.status_code} to {what}: {detail}")
        return resp

    def begin(self, where: Location, backup_id: str) -> ObjectWriter:
        self._check(self._call("PUT", self._url(where)), f"creating container {where.container}",
                    (201, 202, 204))
        self.remove_partial(where, backup_id)        # a second delivery of the same create starts afresh
        return ObjectWriter(self, where, backup_id)

    def put(self, where: Location, name: str, data: bytes) -> None:
        resp = self._call("PUT", self._url(where, name), content=data,
                          headers={"ETag": hashlib.md5(data, usedforsecurity=False).hexdigest(),
                                   "Content-Type": "application/octet-stream"})
        self._check(resp, f"storing {name}", (201,))

    def _get(self, where: Location, name: str, missing: str) -> bytes:
        resp = self._call("GET", self._url(where, name))
        if resp.status_code == 404:
            raise StoreError(missing)
        return self._check(resp, f"reading {name}", (200,)).content

    def read_metadata(self, where: Location, backup_id: str) -> tuple[dict[str, Any], bytes]:
        raw = self._get(where, f"{backup_id}/{METADATA}", f"backup {backup_id} has no metadata object in "
                        f"container {where.container} of account {where.account}")
        try:
            return json.loads(raw), raw
        except ValueError:
            raise StoreError(f"the metadata of backup {backup_id} is not valid JSON") from None

    def read_chunk(self, where: Location, backup_id: str, index: int) -> bytes:
        return self._get(where, f"{backup_id}/chunks/{chunk_name(index)}",
                         f"chunk {index} of backup {backup_id} is missing from the backup store")

    def names(self, where: Location, prefix: str) -> list[str]:
        """The objects of the container whose names start with ``prefix`` (none: no container)."""
        out: list[str] = []
        marker = ""
        while True:
            resp = self._call("GET", self._url(where), params={
                "format": "json", "prefix": prefix, "marker": marker, "limit": str(LISTING_LIMIT)})
            if resp.status_code in (204, 404):        # an empty container, or none
                return out
            page = [o["name"] for o in self._check(resp, f"listing {where.container}", (200,)).json()]
            if not page:            # (a short page is no end: the cluster may list fewer than asked)
                return out
            out.extend(page)
            marker = page[-1]

    def delete(self, where: Location, backup_id: str) -> None:
        # the metadata first: a delete cut short leaves a partial backup, never one that looks whole
        self._delete_object(where, f"{backup_id}/{METADATA}")
        self.remove_partial(where, backup_id)

    def remove_partial(self, where: Location, backup_id: str) -> None:
        for name in self.names(where, f"{backup_id}/"):
            self._delete_object(where, name)

    def _delete_object(self, where: Location, name: str) -> None:
        self._check(self._call("DELETE", self._url(where, name)), f"deleting {name}", (204, 404))

    def partials(self) -> list[tuple[Location, str]]:
        return []           # accounts cannot be listed: partials are found through their records


class ObjectWriter:
    """Uploads a backup's chunks, ``UPLOADS`` at a time, while the engine reads the next ones."""

    def __init__(self, store: ObjectStore, where: Location, backup_id: str) -> None:
        self.store, self.where, self.backup_id = store, where, backup_id
        self._pool = ThreadPoolExecutor(UPLOADS, thread_name_prefix="backup-upload")
        self._pending: deque[Future] = deque()

    def put_chunk(self, index: int, data: bytes) -> None:
        while len(self._pending) >= 2 * UPLOADS:      # bounds the chunks held in memory
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(
            self.store.put, self.where, f"{self.backup_id}/chunks/{chunk_name(index)}", data))

    def _drain(self) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True)

    def finish(self, metadata_bytes: bytes) -> None:
        self._drain()
        self.store.put(self.where, f"{self.backup_id}/{METADATA}", metadata_bytes)

    def abort(self) -> None:
        try:
            self._drain()
        except StoreError:
            pass
        try:
            self.store.remove_partial(self.where, self.backup_id)
        except StoreError as err:         # the backup is in error: its delete removes them
            LOG.warning("objects of failed backup %s left in %s: %s", self.backup_id, self.where, err.message)
