"""The image service's default access rules: Glance's current (secure RBAC) defaults, oslo.policy syntax."""

from __future__ import annotations

from nubes.core.auth.policy import RuleDefault, without_personas

PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
IMAGE_MEMBER_CHECK = "project_id:%(member_id)s"
COMMUNITY = "'community':%(visibility)s"
PUBLIC = "'public':%(visibility)s"
SHARED = "'shared':%(visibility)s"

ADMIN = "rule:context_is_admin"
ADMIN_OR_PROJECT_MEMBER = f"{ADMIN} or ({PROJECT_MEMBER})"
ADMIN_OR_PROJECT_READER = f"{ADMIN} or ({PROJECT_READER})"
ADMIN_OR_PROJECT_READER_GET_IMAGE = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or {IMAGE_MEMBER_CHECK} "
    f"or {COMMUNITY} or {PUBLIC} or {SHARED}))")
ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE = (
    f"{ADMIN} or (role:member and (project_id:%(project_id)s or {IMAGE_MEMBER_CHECK} "
    f"or {COMMUNITY} or {PUBLIC} or {SHARED}))")
ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE = f"{ADMIN} or ({PROJECT_MEMBER} and project_id:%(owner)s)"
ADMIN_OR_SHARED_MEMBER = f"{ADMIN} or (role:member and {IMAGE_MEMBER_CHECK})"
ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or {IMAGE_MEMBER_CHECK}))")

# Metadata definitions: a namespace is read by admins and readers of its owner's project, or by
# any reader when public; only admins change them (Glance's metadef_admin).
ADMIN_OR_PROJECT_READER_GET_NAMESPACE = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or {PUBLIC}))")
# Glance's service_api: the service-to-service image APIs (the 2.17 locations).
SERVICE_API = f"role:service or {ADMIN}"
# Tasks: Glance keeps the tasks API for admins (tasks_api_access), each task rule then the default.
TASKS_API_ACCESS = "tasks_api_access"

CONTEXT_IS_ADMIN = "context_is_admin"
ADD_IMAGE = "add_image"
DELETE_IMAGE = "delete_image"
GET_IMAGE = "get_image"
GET_IMAGES = "get_images"
MODIFY_IMAGE = "modify_image"
PUBLICIZE_IMAGE = "publicize_image"
COMMUNITIZE_IMAGE = "communitize_image"
DOWNLOAD_IMAGE = "download_image"
UPLOAD_IMAGE = "upload_image"
ADD_MEMBER = "add_member"
DELETE_MEMBER = "delete_member"
GET_MEMBER = "get_member"
GET_MEMBERS = "get_members"
MODIFY_MEMBER = "modify_member"
DEACTIVATE = "deactivate"
REACTIVATE = "reactivate"
COPY_IMAGE = "copy_image"
STORES_INFO_DETAIL = "stores_info_detail"
DELETE_IMAGE_LOCATION = "delete_image_location"
FETCH_IMAGE_LOCATION = "fetch_image_location"
ADD_IMAGE_LOCATION = "add_image_location"
GET_TASK = "get_task"
GET_TASKS = "get_tasks"
ADD_TASK = "add_task"
GET_METADEF_NAMESPACE = "get_metadef_namespace"
GET_METADEF_NAMESPACES = "get_metadef_namespaces"
MODIFY_METADEF_NAMESPACE = "modify_metadef_namespace"
ADD_METADEF_NAMESPACE = "add_metadef_namespace"
DELETE_METADEF_NAMESPACE = "delete_metadef_namespace"
GET_METADEF_OBJECT = "get_metadef_object"
GET_METADEF_OBJECTS = "get_metadef_objects"
MODIFY_METADEF_OBJECT = "modify_metadef_object"
ADD_METADEF_OBJECT = "add_metadef_object"
DELETE_METADEF_OBJECT = "delete_metadef_object"
LIST_METADEF_RESOURCE_TYPES = "list_metadef_resource_types"
GET_METADEF_RESOURCE_TYPE = "get_metadef_resource_type"
ADD_METADEF_RESOURCE_TYPE_ASSOCIATION = "add_metadef_resource_type_association"
REMOVE_METADEF_RESOURCE_TYPE_ASSOCIATION = "remove_metadef_resource_type_association"
GET_METADEF_PROPERTY = "get_metadef_property"
GET_METADEF_PROPERTIES = "get_metadef_properties"
MODIFY_METADEF_PROPERTY = "modify_metadef_property"
ADD_METADEF_PROPERTY = "add_metadef_property"
REMOVE_METADEF_PROPERTY = "remove_metadef_property"
GET_METADEF_TAG = "get_metadef_tag"
GET_METADEF_TAGS = "get_metadef_tags"
MODIFY_METADEF_TAG = "modify_metadef_tag"
ADD_METADEF_TAG = "add_metadef_tag"
ADD_METADEF_TAGS = "add_metadef_tags"
DELETE_METADEF_TAG = "delete_metadef_tag"
DELETE_METADEF_TAGS = "delete_metadef_tags"

_METADEF_READ = (GET_METADEF_NAMESPACE, GET_METADEF_OBJECT, GET_METADEF_OBJECTS, GET_METADEF_RESOURCE_TYPE,
                 GET_METADEF_PROPERTY, GET_METADEF_PROPERTIES, GET_METADEF_TAG, GET_METADEF_TAGS)
_METADEF_WRITE = (MODIFY_METADEF_NAMESPACE, ADD_METADEF_NAMESPACE, DELETE_METADEF_NAMESPACE,
                  MODIFY_METADEF_OBJECT, ADD_METADEF_OBJECT, DELETE_METADEF_OBJECT,
                  ADD_METADEF_RESOURCE_TYPE_ASSOCIATION, REMOVE_METADEF_RESOURCE_TYPE_ASSOCIATION,
                  MODIFY_METADEF_PROPERTY, ADD_METADEF_PROPERTY, REMOVE_METADEF_PROPERTY,
                  MODIFY_METADEF_TAG, ADD_METADEF_TAG, ADD_METADEF_TAGS, DELETE_METADEF_TAG,
                  DELETE_METADEF_TAGS)

RULES = {
    "default": "",
    CONTEXT_IS_ADMIN: "role:admin",
    ADD_IMAGE: ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE,
    DELETE_IMAGE: ADMIN_OR_PROJECT_MEMBER,
    GET_IMAGE: ADMIN_OR_PROJECT_READER_GET_IMAGE,
    GET_IMAGES: ADMIN_OR_PROJECT_READER,
    MODIFY_IMAGE: ADMIN_OR_PROJECT_MEMBER,
    PUBLICIZE_IMAGE: ADMIN,
    COMMUNITIZE_IMAGE: ADMIN_OR_PROJECT_MEMBER,
    DOWNLOAD_IMAGE: ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE,
    UPLOAD_IMAGE: ADMIN_OR_PROJECT_MEMBER,
    ADD_MEMBER: ADMIN_OR_PROJECT_MEMBER,
    DELETE_MEMBER: ADMIN_OR_PROJECT_MEMBER,
    GET_MEMBER: ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER,
    GET_MEMBERS: ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER,
    MODIFY_MEMBER: ADMIN_OR_SHARED_MEMBER,
    DEACTIVATE: ADMIN_OR_PROJECT_MEMBER,
    REACTIVATE: ADMIN_OR_PROJECT_MEMBER,
    COPY_IMAGE: ADMIN,
    STORES_INFO_DETAIL: ADMIN,
    DELETE_IMAGE_LOCATION: ADMIN,
    FETCH_IMAGE_LOCATION: SERVICE_API,
    ADD_IMAGE_LOCATION: SERVICE_API,
    TASKS_API_ACCESS: ADMIN,
    GET_TASK: ADMIN_OR_PROJECT_READER,
    GET_TASKS: ADMIN_OR_PROJECT_READER,
    ADD_TASK: ADMIN_OR_PROJECT_MEMBER,
    GET_METADEF_NAMESPACES: ADMIN_OR_PROJECT_READER,
    LIST_METADEF_RESOURCE_TYPES: ADMIN_OR_PROJECT_READER,
    **{rule: ADMIN_OR_PROJECT_READER_GET_NAMESPACE for rule in _METADEF_READ},
    **{rule: ADMIN for rule in _METADEF_WRITE},
}

# Every rule takes project-scoped tokens only, as Glance's do. Legacy mode accepts each rule without
# its persona roles: the owner (or member) checks stay, as this service has no other layer that
# keeps projects from changing each other's images (Glance's old "" defaults relied on one).
_ANY_SCOPE = ("default", CONTEXT_IS_ADMIN)
DEFAULTS = tuple(RuleDefault(name, check) if name in _ANY_SCOPE else
                 RuleDefault(name, check, scope_types=("project",), deprecated=without_personas(check))
                 for name, check in RULES.items())
