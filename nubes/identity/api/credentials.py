"""/v3/credentials, the per-user EC2 API (/v3/users/{id}/credentials/OS-EC2), /v3/ec2tokens and
/v3/s3tokens."""

from __future__ import annotations

import json
from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json, require_object
from nubes.identity.api.views import collection, self_link
from nubes.identity.db.models import Credential, Project, User
from nubes.identity.db.queries import credentials as credential_q
from nubes.identity.exceptions import Forbidden, NotFound, ValidationError
from nubes.identity.service import credentials as cred_svc


def _state(req: Request) -> Any:
    return req.rt.extra["identity"]


def _fernet(req: Request) -> Any:
    return _state(req).credential_keys.fernet()


def check_not_ec2_derived(req: Request) -> None:
    """A token obtained with an EC2 signature, or through a trust, cannot mint further
    credentials (they would outlive the delegation they came from)."""
    if req.ctx.trust_id:
        raise Forbidden("You are not authorized to perform the requested action: a trust-scoped "
                        "token cannot create credentials.")
    if cred_svc.is_ec2_derived(_state(req).tokens, req.ctx.auth_token):
        raise Forbidden("You are not authorized to perform the requested action: a token "
                        "obtained from an EC2 credential cannot create credentials.")


def view(req: Request, c: Credential, blob: str) -> dict[str, Any]:
    return {**(c.extra or {}), "id": c.id, "user_id": c.user_id, "project_id": c.project_id,
            "type": c.type, "blob": blob, "links": self_link(req, f"credentials/{c.id}")}


def _target(user_id: str | None) -> dict[str, Any]:
    return {"target": {"credential": {"user_id": user_id}}}


# -- /v3/credentials ----------------------------------------------------------------------------


async def list_credentials(req: Request):
    q = req.query_params
    user_id = q.get("user_id")
    req.ctx.can("identity:list_credentials", _target(user_id or req.ctx.user_id))
    fernet = _fernet(req)
    async with req.rt.db.reader() as s:
        rows = await credential_q.list_credentials(s, user_id=user_id, type=q.get("type"))
    # Non-administrators see only the credentials they may read.
    rows = [c for c in rows if req.ctx.allowed("identity:get_credential", _target(c.user_id))]
    items = [view(req, c, cred_svc.decrypt(fernet, c.encrypted_blob)) for c in rows]
    return json_response(collection(req, "credentials", items))


async def show_credential(req: Request):
    async with req.rt.db.reader() as s:
        cred = await cred_svc.get(s, req.path_params["credential_id"])
    req.ctx.can("identity:get_credential", _target(cred.user_id))
    return json_response({"credential": view(req, cred, cred_svc.decrypt(_fernet(req),
                                                                         cred.encrypted_blob))})


async def create_credential(req: Request):
    body = require_object(await read_json(req), "credential")
    req.ctx.can("identity:create_credential", _target(body.get("user_id")))
    check_not_ec2_derived(req)
    values = cred_svc.check_create(body, req.ctx.app_cred_id)
    if values["ec2"] and req.ctx.app_cred_id and values["project_id"] != req.ctx.project_id:
        raise ValidationError("An EC2 credential created with an application credential is bound "
                              f"to that credential's project: use project_id {req.ctx.project_id}.")
    async with req.rt.db.session() as s:
        cred = await cred_svc.create(s, _fernet(req), values)
        out = view(req, cred, values["blob"])
    return json_response({"credential": out}, 201)


async def update_credential(req: Request):
    body = require_object(await read_json(req), "credential")
    fernet = _fernet(req)
    async with req.rt.db.session() as s:
        cred = await cred_svc.get(s, req.path_params["credential_id"])
        req.ctx.can("identity:update_credential", _target(cred.user_id))
        if "user_id" in body and body["user_id"] != cred.user_id:  # giving it away: may they?
            req.ctx.can("identity:update_credential", _target(body["user_id"]))
        values = cred_svc.check_update(cred, fernet, body)
        cred_svc.apply_update(cred, fernet, values)
        await s.flush()
        out = view(req, cred, cred_svc.decrypt(fernet, cred.encrypted_blob))
    return json_response({"credential": out})


async def delete_credential(req: Request):
    async with req.rt.db.session() as s:
        cred = await cred_svc.get(s, req.path_params["credential_id"])
        req.ctx.can("identity:delete_credential", _target(cred.user_id))
        await s.delete(cred)
    return empty_response(204)


# -- EC2 per-user API ----------------------------------------------------------------------------


def ec2_view(req: Request, c: Credential, blob: str) -> dict[str, Any]:
    data = json.loads(blob)
    return {"user_id": c.user_id, "tenant_id": c.project_id, "access": data.get("access"),
            "secret": data.get("secret"), "trust_id": data.get("trust_id"),
            "app_cred_id": data.get("app_cred_id"), "access_token_id": data.get("access_token_id"),
            "links": self_link(req, f"users/{c.user_id}/credentials/OS-EC2/{data.get('access')}")}


async def list_ec2_credentials(req: Request):
    user_id = req.path_params["user_id"]
    req.ctx.can("identity:ec2_list_credentials", {"user_id": user_id})
    fernet = _fernet(req)
    async with req.rt.db.reader() as s:
        if await s.get(User, user_id) is None:
            raise NotFound("user", user_id)
        rows = await credential_q.list_credentials(s, user_id=user_id, type=cred_svc.EC2)
    items = [ec2_view(req, c, cred_svc.decrypt(fernet, c.encrypted_blob)) for c in rows]
    return json_response(collection(req, "credentials", items))


async def create_ec2_credential(req: Request):
    user_id = req.path_params["user_id"]
    req.ctx.can("identity:ec2_create_credential", {"user_id": user_id})
    check_not_ec2_derived(req)
    body = await read_json(req)
    project_id = body.get("tenant_id") if isinstance(body, dict) else None
    if not isinstance(project_id, str) or not project_id:
        raise ValidationError("Expecting to find tenant_id (the project id) in the request body.")
    async with req.rt.db.session() as s:
        if await s.get(User, user_id) is None:
            raise NotFound("user", user_id)
        if await s.get(Project, project_id) is None:
            raise NotFound("project", project_id)
        app_cred_id = req.ctx.app_cred_id if req.ctx.user_id == user_id else None
        if app_cred_id and project_id != req.ctx.project_id:
            raise ValidationError("An EC2 credential created with an application credential is "
                                  "bound to that credential's project: use tenant_id "
                                  f"{req.ctx.project_id}.")
        values = cred_svc.new_ec2(user_id, project_id, app_cred_id)
        cred = await cred_svc.create(s, _fernet(req), values)
        out = ec2_view(req, cred, values["blob"])
    return json_response({"credential": out}, 201)


async def show_ec2_credential(req: Request):
    user_id, access = req.path_params["user_id"], req.path_params["access"]
    async with req.rt.db.reader() as s:
        cred = await cred_svc.get_ec2(s, user_id, access)
    req.ctx.can("identity:ec2_get_credential", _target(cred.user_id))
    return json_response({"credential": ec2_view(req, cred, cred_svc.decrypt(_fernet(req),
                                                                             cred.encrypted_blob))})


async def delete_ec2_credential(req: Request):
    user_id, access = req.path_params["user_id"], req.path_params["access"]
    async with req.rt.db.session() as s:
        cred = await cred_svc.get_ec2(s, user_id, access)
        req.ctx.can("identity:ec2_delete_credential", _target(cred.user_id))
        await s.delete(cred)
    return empty_response(204)


# -- /v3/ec2tokens -------------------------------------------------------------------------------


async def ec2_tokens(req: Request):
    body = await read_json(req)
    if not isinstance(body, dict) or not body:
        raise ValidationError("The request must include a body with credentials.")
    creds = body.get("credentials") or body.get("credential") or body.get("ec2Credentials") or {}
    state = _state(req)
    payload = await cred_svc.ec2_authenticate(req.rt.db, state.tokens, _fernet(req), creds)
    token = state.tokens.encode(payload)
    async with req.rt.db.reader() as s:
        rendered = await state.tokens.render(s, payload, include_catalog=True)
    # Keystone answers 200 here (not 201 as for /v3/auth/tokens), and ec2 middlewares check for it.
    return json_response(rendered, 200, headers={"X-Subject-Token": token})



# -- /v3/s3tokens --------------------------------------------------------------------------------


async def s3_tokens(req: Request):
    """Keystone's s3tokens: object storage's S3 API sends the access key, the string to sign it
    built (base64) and the signature; the answer is the token body of the credential's project.
    Only services and administrators may ask (Keystone's ``identity:s3tokens_validate``): an
    intercepted signature must not buy a token."""
    req.ctx.can("identity:s3tokens_validate", {})
    body = await read_json(req)
    if not isinstance(body, dict) or not body:
        raise ValidationError("The request must include a body with credentials.")
    creds = body.get("credentials") or body.get("credential") or {}
    state = _state(req)
    payload = await cred_svc.s3_authenticate(req.rt.db, state.tokens, _fernet(req), creds)
    async with req.rt.db.reader() as s:
        rendered = await state.tokens.render(s, payload, include_catalog=True)
    return json_response(rendered, 200)
