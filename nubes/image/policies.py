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
}

# Every rule takes project-scoped tokens only, as Glance's do. Legacy mode accepts each rule without
# its persona roles: the owner (or member) checks stay, as this service has no other layer that
# keeps projects from changing each other's images (Glance's old "" defaults relied on one).
_ANY_SCOPE = ("default", CONTEXT_IS_ADMIN)
DEFAULTS = tuple(RuleDefault(name, check) if name in _ANY_SCOPE else
                 RuleDefault(name, check, scope_types=("project",), deprecated=without_personas(check))
                 for name, check in RULES.items())
