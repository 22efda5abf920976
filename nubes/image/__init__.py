"""Image (Glance-compatible API v2): images, their data in stores, import, sharing, quotas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nubes.core.service import CatalogEntry, ServiceSpec
from nubes.image.conf import ImageConfig


def build_app(rt: Any) -> Any:
    from nubes.core.api.app import ServiceApp
    from nubes.core.auth.policy import Enforcer
    from nubes.image import policies
    from nubes.image.api import errors, routes
    from nubes.image.service.runtime import ImageState

    state = ImageState(rt)
    rt.extra["image"] = state
    rt.enforcer = Enforcer(policies.DEFAULTS, rt.conf.policy_file("image"),
                          mode=rt.conf.policy_mode("image"))
    app = ServiceApp("image", routes.routes(), errors.render, rt, rt.tokens, enforcer=rt.enforcer,
                     on_startup=[state.start], on_shutdown=[state.stop])
    identity = getattr(rt.tokens, "identity_url", "")
    return errors.negotiating(app, identity)


def _metadata() -> Any:
    from nubes.image.db.models import Base

    return Base.metadata


SPEC = ServiceSpec(
    name="image",
    conf_class=ImageConfig,
    default_port=9292,
    build_app=build_app,
    catalog=(CatalogEntry("image", "glance", "", "OpenStack Image"),),
    migrations=Path(__file__).parent / "db" / "migrations",
    metadata=_metadata,
)
