"""The metadata definitions nubes ships (``nubes/image/metadefs/*.json``, written for nubes), loaded
once by the migration that creates their tables, as ``glance-manage db load_metadefs`` is run once
after a ``db sync``: what an admin deletes afterwards stays deleted.

Tables are named here with only the columns loaded, not taken from the models, so that a later
migration adding a column does not change what this one does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from nubes.core.db.base import JSONText, UTCDateTime, utcnow

DEFINITIONS = Path(__file__).resolve().parents[1] / "metadefs"
# The resource types of the services Horizon's "Update Metadata" dialog serves; kept (protected)
# even when no namespace is associated with them.
RESOURCE_TYPES = ("OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Aggregate",
                  "OS::Nova::Server")

_NS = sa.table("metadef_namespaces", sa.column("id", sa.Integer), sa.column("namespace"),
               sa.column("display_name"), sa.column("description"), sa.column("visibility"),
               sa.column("protected", sa.Boolean), sa.column("owner"),
               sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime))
_RT = sa.table("metadef_resource_types", sa.column("id", sa.Integer), sa.column("name"),
               sa.column("protected", sa.Boolean),
               sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime))
_ASSOC = sa.table("metadef_namespace_resource_types", sa.column("resource_type_id", sa.Integer),
                  sa.column("namespace_id", sa.Integer), sa.column("prefix"),
                  sa.column("properties_target"),
                  sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime))
_PROP = sa.table("metadef_properties", sa.column("namespace_id", sa.Integer), sa.column("name"),
                 sa.column("definition", JSONText),
                 sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime))
_OBJ = sa.table("metadef_objects", sa.column("namespace_id", sa.Integer), sa.column("name"),
                sa.column("description"), sa.column("required", JSONText),
                sa.column("properties", JSONText),
                sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime))
_TAG = sa.table("metadef_tags", sa.column("namespace_id", sa.Integer), sa.column("name"),
                sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime))


def definitions() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(DEFINITIONS.glob("*.json"))]


def load(conn: Any) -> None:
    now = utcnow()
    stamp = {"created_at": now, "updated_at": now}
    types: dict[str, int] = {}

    def resource_type(name: str) -> int:
        if name not in types:
            conn.execute(sa.insert(_RT).values(name=name, protected=True, **stamp))
            types[name] = conn.execute(sa.select(_RT.c.id).where(_RT.c.name == name)).scalar_one()
        return types[name]

    for name in RESOURCE_TYPES:
        resource_type(name)
    for doc in definitions():
        conn.execute(sa.insert(_NS).values(
            namespace=doc["namespace"], display_name=doc.get("display_name"),
            description=doc.get("description"), visibility=doc.get("visibility", "public"),
            protected=bool(doc.get("protected", True)), owner=doc.get("owner"), **stamp))
        ns_id = conn.execute(sa.select(_NS.c.id).where(_NS.c.namespace == doc["namespace"])).scalar_one()
        for assoc in doc.get("resource_type_associations", []):
            conn.execute(sa.insert(_ASSOC).values(
                resource_type_id=resource_type(assoc["name"]), namespace_id=ns_id,
                prefix=assoc.get("prefix"), properties_target=assoc.get("properties_target"), **stamp))
        for pname, definition in doc.get("properties", {}).items():
            conn.execute(sa.insert(_PROP).values(namespace_id=ns_id, name=pname,
                                                 definition=definition, **stamp))
        for obj in doc.get("objects", []):
            conn.execute(sa.insert(_OBJ).values(
                namespace_id=ns_id, name=obj["name"], description=obj.get("description"),
                required=obj.get("required", []), properties=obj.get("properties", {}), **stamp))
        for tag in doc.get("tags", []):
            conn.execute(sa.insert(_TAG).values(namespace_id=ns_id, name=tag["name"], **stamp))
