"""Golden bodies of Glance's (webob's) error responses, negotiated on Accept."""

import json

from nubes.core.errors import glance_style
from nubes.core.exceptions import Conflict, NotFound, Unauthorized, UnsupportedMediaType

HTML = ("<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n"
        "  No image found with ID x<br /><br />\n\n\n\n </body>\n</html>")


def test_json_body_when_json_is_asked_for():
    status, headers, body = glance_style.render(NotFound("No image found with ID x"), "req-1",
                                                accept="application/json")
    assert status == 404 and headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"message": "No image found with ID x<br /><br />\n\n\n",
                                "code": "404 Not Found", "title": "Not Found"}


def test_html_body_without_accept_or_with_anything():
    for accept in (None, "", "*/*", "text/html", "application/json;q=0.5, text/html"):
        status, headers, body = glance_style.render(NotFound("No image found with ID x"), "r",
                                                    accept=accept)
        assert body.decode() == HTML, accept
        assert headers["content-type"].startswith("text/html")


def test_html_escapes_the_message():
    _, _, body = glance_style.render(Conflict("a <b> & c"), "r")
    assert b"a &lt;b&gt; &amp; c<br />" in body and b"409 Conflict" in body


def test_plain_text_for_other_media_types():
    _, headers, body = glance_style.render(Conflict("busy"), "r", accept="application/octet-stream")
    assert headers["content-type"].startswith("text/plain")
    assert body == b"409 Conflict\n\nbusy\n\n   "


def test_json_preferred_by_quality():
    _, headers, _ = glance_style.render(Conflict("x"), "r", accept="text/html;q=0.2, application/json")
    assert headers["content-type"].startswith("application/json")


def test_401_is_keystonemiddleware_json_with_www_authenticate():
    status, headers, body = glance_style.render(Unauthorized(), "r", www_authenticate='Keystone uri="u"')
    assert status == 401 and headers["www-authenticate"] == 'Keystone uri="u"'
    assert json.loads(body)["error"]["code"] == 401


def test_415_carries_accept_patch():
    exc = UnsupportedMediaType("no", accept_patch="application/openstack-images-v2.1-json-patch")
    status, headers, _ = glance_style.render(exc, "r")
    assert status == 415 and headers["accept-patch"].endswith("json-patch")
