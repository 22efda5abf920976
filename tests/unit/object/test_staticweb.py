"""Static web's settings and the sizes its listings show (the pages themselves:
tests/functional/object/test_staticweb.py)."""

from nubes.object.proxy.staticweb import DIRECTORY_TYPE, Web, human_size


def test_settings_from_the_container_record():
    web = Web.of({"x-container-meta-web-index": " index.html ",
                  "x-container-meta-web-listings": "Yes",
                  "x-container-meta-web-listings-css": "/style.css",
                  "x-container-meta-web-error": "error.html"})
    assert (web.index, web.listings, web.css, web.error) == ("index.html", True, "/style.css",
                                                             "error.html")
    assert web.dir_type == DIRECTORY_TYPE and web.label == ""
    off = Web.of({"x-container-meta-web-listings": "nope",
                  "x-container-meta-web-directory-type": "text/directory"})
    assert not off.listings and not off.index and off.dir_type == "text/directory"


def test_sizes_as_swift_shows_them():
    assert [human_size(n) for n in (0, 1023, 1024, 2048, 1536, 5 * 1024 ** 2, 3 * 1024 ** 4)] == \
        ["0", "1023", "1Ki", "2Ki", "2Ki", "5Mi", "3Ti"]
