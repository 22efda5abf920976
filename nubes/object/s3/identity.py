"""Asking identity whether an S3 signature is good: ``POST /v3/s3tokens`` with the proxy's
service token (Keystone's API, as Swift's s3token middleware calls it), and the caller's
context built from the token body it answers.

Every request's signature is judged by identity, and nothing is cached in place of that check.
Only a chunk-signed upload (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``), whose every chunk carries
a signature chained to the request's, needs the secret here: it is read from identity with the
service token once the request's own signature was accepted (as Swift's s3token does with its
secret cache), and kept for that request only."""

from __future__ import annotations

import base64
import logging
from typing import Any

from nubes.core.auth.tokens import context_from_token
from nubes.core.context import RequestContext
from nubes.core.exceptions import ServiceUnavailable
from nubes.object.s3.auth import Signed
from nubes.object.s3.errors import S3Error

LOG = logging.getLogger(__name__)


async def authenticate(rt: Any, signed: Signed) -> RequestContext:
    """The caller's context for a signature identity accepts; SignatureDoesNotMatch otherwise
    (identity does not say whether the access key exists, nor does this)."""
    body = {"credentials": {"access": signed.access, "signature": signed.signature,
                            "token": base64.urlsafe_b64encode(signed.string_to_sign).decode()}}
    try:
        resp = await rt.clients.request("identity", "POST", "/s3tokens", json=body)
    except ServiceUnavailable as exc:
        raise S3Error("ServiceUnavailable", f"Identity could not be asked: {exc.message}") from None
    if resp.status_code == 200:
        try:
            ctx = context_from_token(resp.json(), "")
        except (ValueError, KeyError, TypeError):
            LOG.error("identity's s3tokens answer is not a token body: %.200s", resp.text)
            raise S3Error("ServiceUnavailable", "Identity's answer could not be read.") from None
        if ctx.access_rules is not None:
            # Access rules name Swift API paths: an S3 request is outside what they allow.
            raise S3Error("AccessDenied", "This EC2 credential belongs to an application "
                                          "credential with access rules, which S3 requests cannot "
                                          "satisfy.")
        return ctx
    if resp.status_code == 403:
        LOG.error("identity refused this service's s3tokens request (its user needs the service "
                  "or admin role): %.200s", resp.text)
        raise S3Error("ServiceUnavailable", "This cloud's object storage may not check S3 "
                                            "signatures with identity.")
    raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=signed.access,
                  StringToSign=signed.string_to_sign.decode("utf-8", "replace"),
                  SignatureProvided=signed.signature)


async def secret(rt: Any, ctx: RequestContext, access: str) -> str:
    """The secret of the caller's EC2 credential ``access`` (already proven by its signature)."""
    try:
        resp = await rt.clients.request(
            "identity", "GET", f"/users/{ctx.user_id}/credentials/OS-EC2/{access}")
    except ServiceUnavailable as exc:
        raise S3Error("ServiceUnavailable", f"Identity could not be asked: {exc.message}") from None
    if resp.status_code == 200:
        value = (resp.json().get("credential") or {}).get("secret")
        if isinstance(value, str) and value:
            return value
    LOG.error("identity gave no secret for a chunk-signed upload (%s): %.200s", resp.status_code,
              resp.text)
    raise S3Error("ServiceUnavailable", "The chunk signatures of this upload cannot be checked.")
