"""The image service's error body: webob's default error page, negotiated on Accept, as Glance sends it.

Glance raises ``webob.exc.HTTP*`` exceptions with the message as their explanation
and lets webob render them, so the body depends on the request's Accept header:

- ``application/json`` preferred: ``{"message": "<msg><br /><br />\\n\\n\\n", "code": "404 Not Found",
  "title": "Not Found"}`` (the ``<br />`` tail is webob's body template, kept verbatim);
- ``text/html`` preferred, ``*/*`` or no Accept header at all: a small HTML page with the status
  as title and heading, then the message;
- anything else (``text/plain``, ``application/octet-stream`` ...): ``"<status>\\n\\n<msg>\\n\\n   "``.

A 401 is not Glance's own: keystonemiddleware answers it before Glance runs, with Keystone's
JSON body and a ``WWW-Authenticate`` header, so that is what we send too.
"""

from __future__ import annotations

import html
import json

from nubes.core.errors import Rendered, keystone_style
from nubes.core.exceptions import CloudError

# webob's titles (the reason phrases it puts in "code" and in the page title).
TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict", 410: "Gone",
    411: "Length Required", 412: "Precondition Failed", 413: "Request Entity Too Large",
    415: "Unsupported Media Type", 416: "Request Range Not Satisfiable", 429: "Too Many Requests",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}

_HTML = ("<html>\n <head>\n  <title>{status}</title>\n </head>\n <body>\n  <h1>{status}</h1>\n"
         "  {body}\n </body>\n</html>")


def _media_type(accept: str | None) -> str:
    """The first of text/html and application/json the Accept header takes, as webob picks it."""
    if not accept or not accept.strip():
        return "text/html"
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        media, q = fields[0].lower(), 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        for offer_rank, offer in enumerate(("text/html", "application/json")):
            major = offer.split("/")[0]
            if media in (offer, f"{major}/*", "*/*"):
                # Higher q wins; on a tie webob keeps the order of its offers (html first).
                key = (q, -offer_rank, offer)
                if best is None or key[:2] > best[:2]:
                    best = key
    return best[2] if best else "text/plain"


def status_line(status: int) -> str:
    return f"{status} {TITLES.get(status, 'Error')}"


def render(exc: CloudError, request_id: str, *, accept: str | None = None,
           www_authenticate: str = "") -> Rendered:
    if exc.status == 401:
        return keystone_style.render(exc, request_id, www_authenticate=www_authenticate)
    status = status_line(exc.status)
    title = TITLES.get(exc.status, "Error")
    media = _media_type(accept)
    if media == "application/json":
        body = json.dumps({"message": f"{exc.message}<br /><br />\n\n\n", "code": status,
                           "title": title}).encode()
    elif media == "text/html":
        body = _HTML.format(status=status,
                            body=f"{html.escape(exc.message, quote=False)}<br /><br />\n\n\n"
                            ).encode(errors="backslashreplace")
    else:
        body = f"{status}\n\n{exc.message.replace(chr(10), ' ')}\n\n   ".encode(errors="backslashreplace")
    headers = {"content-type": f"{media}; charset=UTF-8"}
    allow = exc.details.get("allow") if isinstance(exc.details, dict) else None
    if allow:
        headers["allow"] = allow
    accept_patch = exc.details.get("accept_patch") if isinstance(exc.details, dict) else None
    if accept_patch:
        headers["accept-patch"] = accept_patch
    return exc.status, headers, body
