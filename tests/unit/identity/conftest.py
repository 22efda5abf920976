"""An identity service's state on a temporary SQLite file, migrated and bootstrapped, no HTTP."""

from __future__ import annotations

import pytest

from nubes.core.config import load
from nubes.core.service import Runtime
from nubes.identity import SPEC
from nubes.identity.service.bootstrap import BootstrapSpec, bootstrap
from nubes.launcher.supervisor import prepare_database

ROUNDS = 4      # bcrypt's cheapest cost: these tests count verifications, they do not time them


@pytest.fixture
async def identity(tmp_path):
    from nubes.identity.service.runtime import IdentityState

    conf = load(None, {"identity": SPEC.conf_class}, env={})
    conf.core.state_dir = tmp_path
    conf.services["identity"].password_hash_rounds = ROUNDS
    db = await prepare_database(conf, SPEC)
    await bootstrap(db, BootstrapSpec(admin_password="admin-secret", service_password="svc-secret"), ROUNDS)
    rt = Runtime(name="identity", conf=conf, db=db)
    state = IdentityState(rt)
    rt.extra["identity"] = state
    try:
        yield state
    finally:
        await db.close()
