"""Nova's self and bookmark links."""

from __future__ import annotations

from nubes.core.api.http import Request


def base(req: Request) -> str:
    return str(req.base_url).rstrip("/")


def links(req: Request, collection: str, ident: str) -> list[dict[str, str]]:
    b = base(req)
    return [{"rel": "self", "href": f"{b}/v2.1/{collection}/{ident}"},
            {"rel": "bookmark", "href": f"{b}/{collection}/{ident}"}]


def next_link(req: Request, collection: str, marker: str) -> list[dict[str, str]]:
    params = [(k, v) for k, v in req.query_params.multi_items() if k != "marker"] + [("marker", marker)]
    from urllib.parse import urlencode

    return [{"rel": "next", "href": f"{base(req)}/v2.1/{collection}?{urlencode(params)}"}]
