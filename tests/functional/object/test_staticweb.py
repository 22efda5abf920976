"""Static web (Swift's staticweb): containers served as web sites from their `web-*` metadata,
set with python-swiftclient's `swift post -m`, read anonymously (`-r .r:*`) and by owners with
`X-Web-Mode: true`, on one all-in-one cloud for the module."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.cloud import new_user
from tests.functional.object.swift_cli import swift


@pytest.fixture(scope="module")
def other(cloud, tmp_path_factory):
    return new_user(cloud, tmp_path_factory.mktemp("other"), "member")


@pytest.fixture(scope="module")
def http(cloud):
    def call(method: str, path: str, token: str | None = None, **kw):
        headers = {**({"x-auth-token": token} if token else {}), **kw.pop("headers", {})}
        return httpx.request(method, cloud.url("object", path), headers=headers, timeout=30, **kw)

    return call


@pytest.fixture
def site(cloud, owner, http):
    """A new container of the owner's with a few objects; its path."""
    c = f"web-{uuid.uuid4().hex[:8]}"
    base = f"/v1/AUTH_{owner.project_id}/{c}"
    assert http("PUT", base, owner.token).status_code == 201

    def put(name: str, body: bytes, kind: str = "text/html") -> None:
        r = http("PUT", f"{base}/{name}", owner.token, content=body,
                 headers={"content-type": kind})
        assert r.status_code == 201, r.text

    put.base = base
    put.name = c
    return put


def test_info_offers_staticweb(cloud, owner, http):
    assert http("GET", "/info").json()["staticweb"] == {}
    assert "staticweb\n" in swift(cloud, owner, "capabilities")


def test_index_served_anonymously(cloud, owner, http, site):
    site("index.html", b"<h1>home</h1>")
    site("page.html", b"<p>page</p>")
    swift(cloud, owner, "post", "-r", ".r:*", "-m", "web-index:index.html", site.name)
    r = http("GET", f"{site.base}/")
    assert r.status_code == 200 and r.content == b"<h1>home</h1>"
    assert r.headers["content-type"].startswith("text/html")
    head = http("HEAD", f"{site.base}/")
    assert head.status_code == 200 and head.headers["content-length"] == "13"
    assert head.content == b""
    # the container without its slash: a permanent redirect to it (GET and HEAD)
    for method in ("GET", "HEAD"):
        r = http(method, site.base)
        assert r.status_code == 301
        assert r.headers["location"] == str(httpx.URL(cloud.url("object", site.base + "/")))
    assert http("GET", f"{site.base}/page.html").content == b"<p>page</p>"
    # an owner without X-Web-Mode gets the container as always (a listing), with it the site
    listed = http("GET", site.base, owner.token)
    assert listed.status_code == 200 and listed.text.split() == ["index.html", "page.html"]
    r = http("GET", f"{site.base}/", owner.token, headers={"x-web-mode": "true"})
    assert r.status_code == 200 and r.content == b"<h1>home</h1>"


def test_listing_escapes_names_and_links_css(cloud, owner, http, site):
    site("<script>alert('x')<\\script>&.txt", b"x" * 2048, "text/plain")
    site("<script>alert(1)</script>.txt", b"x", "text/plain")     # under a directory
    site("a b.html", b"<p>a</p>")
    site("sub/inner.txt", b"in", "text/plain")
    swift(cloud, owner, "post", "-r", ".r:*,.rlistings", "-m", "web-listings:true", site.name)
    r = http("GET", f"{site.base}/")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=UTF-8"
    page = r.text
    assert "<script>" not in page
    assert ("<a href=\"%3Cscript%3Ealert%28%27x%27%29%3C%5Cscript%3E%26.txt\">"
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;\\script&gt;&amp;.txt</a>") in page
    assert '<a href="%3Cscript%3Ealert%281%29%3C/">&lt;script&gt;alert(1)&lt;/</a>' in page
    assert '<a href="a%20b.html">a b.html</a>' in page and "2Ki" in page
    assert '<a href="sub/">sub/</a>' in page and "inner.txt" not in page
    assert f"Listing of {site.base}/" in page and "<style" in page and "stylesheet" not in page
    assert 'class="item type-text type-plain"' in page
    head = http("HEAD", f"{site.base}/")
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(r.content)
    # a style sheet of the container's, relative to each directory; a label instead of the path
    swift(cloud, owner, "post", "-m", "web-listings-css:style.css", "-m",
          "web-listings-label:Example", site.name)
    page = http("GET", f"{site.base}/").text
    assert '<link rel="stylesheet" type="text/css" href="style.css" />' in page
    assert "<style" not in page and "Listing of Example/" in page
    sub = http("GET", f"{site.base}/sub/")
    assert sub.status_code == 200 and 'href="../style.css"' in sub.text
    assert '<a href="inner.txt">inner.txt</a>' in sub.text and '<a href="../">../</a>' in sub.text
    assert "Listing of Example/sub/" in sub.text
    # a directory without its slash redirects; an empty one is not found
    r = http("GET", f"{site.base}/sub")
    assert r.status_code == 301 and r.headers["location"].endswith(f"{site.base}/sub/")
    assert http("GET", f"{site.base}/nothing/").status_code == 404
    assert http("GET", f"{site.base}/nothing").status_code == 404


def test_pseudo_directories(cloud, owner, http, site):
    site("docs/index.html", b"docs home")
    site("docs/guide.html", b"guide")
    site("marked", b"", "application/directory")
    site("marked/a.txt", b"a", "text/plain")
    site("files/one.txt", b"1", "text/plain")
    swift(cloud, owner, "post", "-r", ".r:*,.rlistings", "-m", "web-index:index.html",
          "-m", "web-listings:true", site.name)
    assert http("GET", f"{site.base}/docs/").content == b"docs home"
    assert http("HEAD", f"{site.base}/docs/").headers["content-length"] == "9"
    r = http("GET", f"{site.base}/docs")
    assert r.status_code == 301 and r.headers["location"].endswith(f"{site.base}/docs/")
    # no index: the listing of the prefix; a directory marker is a directory
    files = http("GET", f"{site.base}/files/")
    assert files.status_code == 200 and '<a href="one.txt">one.txt</a>' in files.text
    r = http("GET", f"{site.base}/marked")
    assert r.status_code == 301 and r.headers["location"].endswith(f"{site.base}/marked/")
    assert '<a href="a.txt">a.txt</a>' in http("GET", f"{site.base}/marked/").text
    # the container itself: no index at its top, so its listing
    top = http("GET", f"{site.base}/")
    assert top.status_code == 200 and '<a href="docs/">docs/</a>' in top.text
    # a marker of another type is an object like any other
    swift(cloud, owner, "post", "-m", "web-directory-type:text/directory", site.name)
    r = http("GET", f"{site.base}/marked")
    assert r.status_code == 200 and r.content == b""


def test_error_pages_keep_the_status(cloud, owner, http, site):
    site("index.html", b"home")
    site("404error.html", b"<p>no such page</p>")
    site("401error.html", b"<p>not for you</p>")
    swift(cloud, owner, "post", "-r", ".r:*", "-m", "web-index:index.html",
          "-m", "web-error:error.html", site.name)
    r = http("GET", f"{site.base}/missing.html")
    assert r.status_code == 404 and r.content == b"<p>no such page</p>"
    r = http("HEAD", f"{site.base}/missing.html")
    assert r.status_code == 404 and r.headers["content-length"] == "19"
    # listings on but the ACL has no .rlistings: the listing is refused, with its page
    swift(cloud, owner, "post", "-m", "web-index:", "-m", "web-listings:true", site.name)
    r = http("GET", f"{site.base}/")
    assert r.status_code == 401 and r.content == b"<p>not for you</p>"
    # without the error page, Swift's own
    swift(cloud, owner, "post", "-m", "web-error:", site.name)
    r = http("GET", f"{site.base}/missing.html")
    assert r.status_code == 404 and b"<h1>Not Found</h1>" in r.content


def test_web_mode_for_owners(cloud, owner, http, site):
    site("index.html", b"home")
    swift(cloud, owner, "post", "-m", "web-index:index.html", site.name)   # private
    web = {"x-web-mode": "true"}
    r = http("GET", f"{site.base}/", owner.token, headers=web)
    assert r.status_code == 200 and r.content == b"home"
    r = http("GET", site.base, owner.token, headers=web)
    assert r.status_code == 301
    # a container that is no site answers 404 in web mode, its listing without it
    swift(cloud, owner, "post", "-m", "web-index:", site.name)
    assert http("GET", f"{site.base}/", owner.token, headers=web).status_code == 404
    assert http("GET", site.base, owner.token).text.split() == ["index.html"]


def test_private_container_is_no_site(cloud, owner, other, http, site):
    site("index.html", b"home")
    site("404error.html", b"missing")
    swift(cloud, owner, "post", "-m", "web-index:index.html", "-m", "web-listings:true",
          "-m", "web-error:error.html", site.name)
    for method in ("GET", "HEAD"):
        assert http(method, f"{site.base}/").status_code == 401
        assert http(method, f"{site.base}/index.html").status_code == 401
        assert http(method, f"{site.base}/missing").status_code == 401
    r = http("GET", f"{site.base}/")
    assert b"home" not in r.content and "www-authenticate" in r.headers
    # another project's member in web mode: 403, as without it
    web = {"x-web-mode": "true"}
    assert http("GET", f"{site.base}/", other.token, headers=web).status_code == 403
    assert http("GET", f"{site.base}/index.html", other.token, headers=web).status_code == 403
