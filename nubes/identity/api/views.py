"""Shared view helpers for identity: links and collections as Keystone renders them."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request


def base_url(req: Request) -> str:
    return f"{req.url.scheme}://{req.url.netloc}"


def self_link(req: Request, path: str) -> dict[str, str]:
    return {"self": f"{base_url(req)}/v3/{path}"}


def collection(req: Request, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    url = f"{base_url(req)}{req.url.path}"
    if req.url.query:
        url += f"?{req.url.query}"
    return {key: items, "links": {"self": url, "previous": None, "next": None}}
