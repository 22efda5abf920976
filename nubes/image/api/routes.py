"""THE route table of the image service: every (method, path, handler) of Image API v2 it serves."""

from __future__ import annotations

import importlib

from nubes.core.api.routing import Route

# (method, path, "module.handler", public)
TABLE: list[tuple[str, str, str, bool]] = [
    ("GET", "/", "versions.list_versions", True),
    ("GET", "/versions", "versions.list_versions_explicit", True),
    ("GET", "/v2", "versions.list_versions", True),
    # images ("/v2/images/" with its slash is no route in Glance: 404, listed before the
    # collection, whose pattern would take a trailing slash)
    *[(m, "/v2/images/", "unsupported.no_such_resource", False) for m in ("GET", "POST", "DELETE")],
    ("GET", "/v2/images", "images.list_images", False),
    ("POST", "/v2/images", "images.create_image", False),
    ("GET", "/v2/images/{image_id}", "images.show_image", False),
    ("PATCH", "/v2/images/{image_id}", "images.update_image", False),
    ("DELETE", "/v2/images/{image_id}", "images.delete_image", False),
    ("POST", "/v2/images/{image_id}/actions/deactivate", "images.deactivate_image", False),
    ("POST", "/v2/images/{image_id}/actions/reactivate", "images.reactivate_image", False),
    ("PUT", "/v2/images/{image_id}/tags/{tag}", "tags.add_tag", False),
    ("DELETE", "/v2/images/{image_id}/tags/{tag}", "tags.delete_tag", False),
    # data
    ("PUT", "/v2/images/{image_id}/file", "image_data.upload_image_file", False),
    ("GET", "/v2/images/{image_id}/file", "image_data.download_image_file", False),
    ("PUT", "/v2/images/{image_id}/stage", "image_data.stage_image_file", False),
    ("POST", "/v2/images/{image_id}/import", "imports.import_image", False),
    # sharing
    ("GET", "/v2/images/{image_id}/members", "members.list_members", False),
    ("POST", "/v2/images/{image_id}/members", "members.create_member", False),
    ("GET", "/v2/images/{image_id}/members/{member_id}", "members.show_member", False),
    ("PUT", "/v2/images/{image_id}/members/{member_id}", "members.update_member", False),
    ("DELETE", "/v2/images/{image_id}/members/{member_id}", "members.delete_member", False),
    # discovery
    ("GET", "/v2/info/import", "discovery.show_import_info", False),
    ("GET", "/v2/info/stores", "discovery.list_stores", False),
    ("GET", "/v2/info/stores/detail", "discovery.list_stores_detail", False),
    ("GET", "/v2/info/usage", "discovery.show_usage", False),
    # schemas
    ("GET", "/v2/schemas/image", "discovery.image_schema", False),
    ("GET", "/v2/schemas/images", "discovery.images_schema", False),
    ("GET", "/v2/schemas/member", "discovery.member_schema", False),
    ("GET", "/v2/schemas/members", "discovery.members_schema", False),
    ("GET", "/v2/schemas/metadefs/{name}", "metadefs.metadef_schema", False),
    ("GET", "/v2/schemas/task", "tasks.task_schema", False),
    ("GET", "/v2/schemas/tasks", "tasks.tasks_schema", False),
    # tasks
    ("GET", "/v2/tasks", "tasks.list_tasks", False),
    ("POST", "/v2/tasks", "tasks.create_task", False),
    ("GET", "/v2/tasks/{task_id}", "tasks.show_task", False),
    ("GET", "/v2/images/{image_id}/tasks", "tasks.image_tasks", False),
    # stores and locations
    ("DELETE", "/v2/stores/{store_id}/{image_id}", "images.delete_from_store", False),
    ("GET", "/v2/images/{image_id}/locations", "images.list_locations", False),
    ("POST", "/v2/images/{image_id}/locations", "images.add_location", False),
    # metadata definitions
    ("GET", "/v2/metadefs/namespaces", "metadefs.list_namespaces", False),
    ("POST", "/v2/metadefs/namespaces", "metadefs.create_namespace", False),
    ("GET", "/v2/metadefs/namespaces/{namespace}", "metadefs.show_namespace", False),
    ("PUT", "/v2/metadefs/namespaces/{namespace}", "metadefs.update_namespace", False),
    ("DELETE", "/v2/metadefs/namespaces/{namespace}", "metadefs.delete_namespace", False),
    ("GET", "/v2/metadefs/namespaces/{namespace}/objects", "metadefs.list_objects", False),
    ("POST", "/v2/metadefs/namespaces/{namespace}/objects", "metadefs.create_object", False),
    ("DELETE", "/v2/metadefs/namespaces/{namespace}/objects", "metadefs.delete_objects", False),
    ("GET", "/v2/metadefs/namespaces/{namespace}/objects/{object_name}", "metadefs.show_object", False),
    ("PUT", "/v2/metadefs/namespaces/{namespace}/objects/{object_name}", "metadefs.update_object", False),
    ("DELETE", "/v2/metadefs/namespaces/{namespace}/objects/{object_name}", "metadefs.delete_object", False),
    ("GET", "/v2/metadefs/namespaces/{namespace}/properties", "metadefs.list_properties", False),
    ("POST", "/v2/metadefs/namespaces/{namespace}/properties", "metadefs.create_property", False),
    ("DELETE", "/v2/metadefs/namespaces/{namespace}/properties", "metadefs.delete_properties", False),
    ("GET", "/v2/metadefs/namespaces/{namespace}/properties/{property_name}", "metadefs.show_property",
     False),
    ("PUT", "/v2/metadefs/namespaces/{namespace}/properties/{property_name}", "metadefs.update_property",
     False),
    ("DELETE", "/v2/metadefs/namespaces/{namespace}/properties/{property_name}", "metadefs.delete_property",
     False),
    ("GET", "/v2/metadefs/namespaces/{namespace}/tags", "metadefs.list_tags", False),
    ("POST", "/v2/metadefs/namespaces/{namespace}/tags", "metadefs.create_tags", False),
    ("DELETE", "/v2/metadefs/namespaces/{namespace}/tags", "metadefs.delete_tags", False),
    ("GET", "/v2/metadefs/namespaces/{namespace}/tags/{tag_name}", "metadefs.show_tag", False),
    ("POST", "/v2/metadefs/namespaces/{namespace}/tags/{tag_name}", "metadefs.create_tag", False),
    ("PUT", "/v2/metadefs/namespaces/{namespace}/tags/{tag_name}", "metadefs.update_tag", False),
    ("DELETE", "/v2/metadefs/namespaces/{namespace}/tags/{tag_name}", "metadefs.delete_tag", False),
    ("GET", "/v2/metadefs/namespaces/{namespace}/resource_types", "metadefs.list_associations", False),
    ("POST", "/v2/metadefs/namespaces/{namespace}/resource_types", "metadefs.create_association", False),
    ("DELETE", "/v2/metadefs/namespaces/{namespace}/resource_types/{resource_type}",
     "metadefs.delete_association", False),
    ("GET", "/v2/metadefs/resource_types", "metadefs.list_resource_types", False),
]

# Parts of the upstream API answered with 501 (see docs/api-coverage.md).
NOT_IMPLEMENTED = [
    "/v2/cache",
    "/v2/cache/{path:path}",
    "/v2/queued_images/{path:path}",
]


def routes() -> list[Route]:
    out = []
    for method, path, ref, public in TABLE:
        module_name, _, func = ref.partition(".")
        module = importlib.import_module(f"nubes.image.api.{module_name}")
        out.append(Route(method, path, getattr(module, func), public=public))
    from nubes.image.api.unsupported import not_implemented

    for path in NOT_IMPLEMENTED:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            out.append(Route(method, path, not_implemented))
    return out
