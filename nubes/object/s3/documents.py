"""S3's XML documents: answers built with the S3 namespace, request bodies read safely.

Request bodies are small (a bucket configuration, a list of parts or of keys to delete) and
read whole up to ``MAX_BODY`` (payload.py); a document with a DTD is refused (no entity
expansion)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from starlette.responses import Response

from nubes.object.s3.errors import S3Error

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_BODY = 2 * 1024 * 1024      # the largest document read (1,000 keys to delete fit easily)

Tree = list[tuple[str, Any]]    # (tag, text | Tree | None), in order; None values are left out


def _add(parent: ElementTree.Element, items: Tree) -> None:
    for tag, value in items:
        if value is None:
            continue
        child = ElementTree.SubElement(parent, tag)
        if isinstance(value, list):
            _add(child, value)
        elif isinstance(value, bool):
            child.text = "true" if value else "false"
        else:
            child.text = str(value)


def document(root: str, items: Tree | str) -> bytes:
    """``<root xmlns=S3>`` with ``items`` as its elements (or its text)."""
    element = ElementTree.Element(root, xmlns=NS)
    if isinstance(items, str):
        element.text = items
    else:
        _add(element, items)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(element)


def xml_response(root: str, items: Tree | str, status: int = 200,
                 headers: dict[str, str] | None = None) -> Response:
    return Response(document(root, items), status, headers=headers, media_type="application/xml")


def parse(body: bytes, root: str) -> ElementTree.Element:
    """The document's root element (namespaces dropped from tags); MalformedXML when it is not
    well formed, has a DTD or another root."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise S3Error("MalformedXML", "Document type declarations are not accepted.")
    try:
        element = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise S3Error("MalformedXML") from None
    for node in element.iter():
        if isinstance(node.tag, str) and "}" in node.tag:
            node.tag = node.tag.split("}", 1)[1]
    if element.tag != root:
        raise S3Error("MalformedXML", f"The document's root element must be {root}.")
    return element


def text(element: ElementTree.Element, tag: str) -> str | None:
    child = element.find(tag)
    return None if child is None else (child.text or "").strip()
