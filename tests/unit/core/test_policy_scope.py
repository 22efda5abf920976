"""Scope enforcement, the legacy switch and admin-ness as a policy decision (the engine and the context)."""

from __future__ import annotations

import json

import pytest

from nubes.core.auth.policy import Enforcer, PolicyError, RuleDefault, token_scope
from nubes.core.config import ConfigError, load
from nubes.core.context import RequestContext
from nubes.core.exceptions import InvalidScope, PolicyNotAuthorized

PROJECT = {"user_id": "u1", "project_id": "p1", "domain_id": None, "system_scope": None, "roles": ["member"]}
DOMAIN = {**PROJECT, "project_id": None, "domain_id": "d1"}
SYSTEM = {**PROJECT, "project_id": None, "system_scope": "all"}
UNSCOPED = {**PROJECT, "project_id": None, "roles": []}


def enforcer(*defaults: RuleDefault, mode: str = "secure", path=None) -> Enforcer:
    return Enforcer(list(defaults), path, mode=mode)


# ---------------------------------------------------------------- the token's scope

@pytest.mark.parametrize("creds, scope", [(PROJECT, "project"), (DOMAIN, "domain"), (SYSTEM, "system"),
                                          (UNSCOPED, "project")])
def test_token_scope_as_oslo_policy_sees_it(creds, scope):
    # oslo.policy: system, else domain, else project -- an unscoped token counts as project.
    assert token_scope(creds) == scope


def test_rule_refuses_a_token_of_another_scope():
    enf = enforcer(RuleDefault("r", "@", scope_types=("project",)))
    assert enf.enforce("r", {}, PROJECT)
    assert not enf.enforce("r", {}, DOMAIN) and not enf.enforce("r", {}, SYSTEM)
    with pytest.raises(InvalidScope) as err:
        enf.authorize("r", {}, DOMAIN)
    assert isinstance(err.value, PolicyNotAuthorized) and err.value.status == 403
    assert err.value.rule == "r" and err.value.token_scope == "domain"
    assert err.value.scope_types == ("project",)


def test_scope_is_checked_before_the_rule_and_not_through_references():
    enf = enforcer(RuleDefault("admin", "role:admin", scope_types=("system",)),
                   RuleDefault("r", "rule:admin or role:member", scope_types=("project", "domain")))
    # "admin" is referenced by "r": its own scope types do not apply there (as in oslo.policy).
    assert enf.enforce("r", {}, {**PROJECT, "roles": ["admin"]})
    with pytest.raises(InvalidScope):
        enf.authorize("r", {}, {**SYSTEM, "roles": ["admin"]})


def test_rule_without_scope_types_takes_any_token():
    enf = enforcer(RuleDefault("r", "user_id:%(user_id)s"))
    for creds in (PROJECT, DOMAIN, SYSTEM, UNSCOPED):
        assert enf.enforce("r", {"user_id": "u1"}, creds)


def test_an_overridden_rule_keeps_its_scope_types(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('"r": "@"\n')
    enf = enforcer(RuleDefault("r", "!", scope_types=("system",)), path=path)
    assert enf.enforce("r", {}, SYSTEM)
    assert not enf.enforce("r", {}, PROJECT)


def test_unknown_scope_type_is_refused():
    with pytest.raises(PolicyError, match="unknown scope types"):
        RuleDefault("r", "@", scope_types=("tenant",))


# ---------------------------------------------------------------- the legacy switch

def test_legacy_mode_checks_no_scope_and_accepts_the_deprecated_rule():
    rule = RuleDefault("r", "role:member and project_id:%(project_id)s", scope_types=("project",),
                       deprecated="is_admin:True or project_id:%(project_id)s")
    secure, legacy = enforcer(rule), enforcer(rule, mode="legacy")
    no_role = {**PROJECT, "roles": []}
    assert not secure.enforce("r", {"project_id": "p1"}, no_role)   # the new default needs member
    assert legacy.enforce("r", {"project_id": "p1"}, no_role)       # the deprecated one does not
    assert not legacy.enforce("r", {"project_id": "p2"}, no_role)
    domain_member = {**DOMAIN, "project_id": "p1"}
    assert not secure.enforce("r", {"project_id": "p1"}, domain_member)
    assert legacy.enforce("r", {"project_id": "p1"}, domain_member)  # no scope check
    assert legacy.rules()["r"] == ("(role:member and project_id:%(project_id)s) or "
                                   "(is_admin:True or project_id:%(project_id)s)")
    assert secure.rules()["r"] == "role:member and project_id:%(project_id)s"


def test_legacy_mode_leaves_an_operators_override_alone(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('"r": "role:auditor"\n')
    enf = enforcer(RuleDefault("r", "role:member", deprecated="@"), mode="legacy", path=path)
    assert enf.rules()["r"] == "role:auditor"
    assert not enf.enforce("r", {}, PROJECT)


def test_unknown_mode_is_refused():
    with pytest.raises(PolicyError, match="policy_defaults"):
        enforcer(RuleDefault("r", "@"), mode="lenient")


def config_sections() -> dict:
    from nubes.services import all_specs

    return {spec.name: spec.conf_class for spec in all_specs()}


def test_config_switch_core_and_per_service():
    conf = load(None, config_sections(), env={"NUBES_CORE__POLICY_DEFAULTS": "legacy",
                                              "NUBES_IMAGE__POLICY_DEFAULTS": "secure"})
    assert conf.policy_mode("compute") == "legacy" and conf.policy_mode("image") == "secure"
    assert load(None, config_sections(), env={}).policy_mode("network") == "secure"
    with pytest.raises(ConfigError, match="policy_defaults"):
        load(None, config_sections(), env={"NUBES_CORE__POLICY_DEFAULTS": "off"})
    with pytest.raises(ConfigError, match="policy_defaults"):
        load(None, config_sections(), env={"NUBES_NETWORK__POLICY_DEFAULTS": "insecure"})


# ---------------------------------------------------------------- None: absent or null

def test_none_tests_an_absent_or_null_value():
    enf = enforcer(RuleDefault("domain_token", "not domain_id:None"),
                   RuleDefault("global_role", "None:%(target.role.domain_id)s"))
    assert enf.enforce("domain_token", {}, DOMAIN)
    assert not enf.enforce("domain_token", {}, PROJECT)
    assert enf.enforce("global_role", {"target": {"role": {"domain_id": None}}}, PROJECT)
    assert enf.enforce("global_role", {"target": {"role": {}}}, PROJECT)
    assert not enf.enforce("global_role", {"target": {"role": {"domain_id": "d1"}}}, PROJECT)


# ---------------------------------------------------------------- admin-ness is the engine's

def context(roles: list[str], enf: Enforcer, **scope) -> RequestContext:
    ctx = RequestContext(user_id="u1", roles=roles, **({"project_id": "p1"} | scope))
    ctx.enforcer = enf
    return ctx


def test_is_admin_is_the_context_is_admin_rule(tmp_path):
    path = tmp_path / "policy.yaml"
    enf = enforcer(RuleDefault("context_is_admin", "role:admin"), path=path)
    assert context(["admin"], enf).is_admin
    assert not context(["superuser"], enf).is_admin
    path.write_text('"context_is_admin": "role:superuser"\n')
    enf.reload()
    # An operator's override changes who is admin: the role named admin no longer is.
    assert context(["superuser"], enf).is_admin
    assert not context(["admin"], enf).is_admin


def test_is_admin_feeds_legacy_is_admin_checks_and_cannot_recurse():
    enf = enforcer(RuleDefault("context_is_admin", "role:admin or is_admin:True"),
                   RuleDefault("admin_api", "is_admin:True"))
    ctx = context(["admin"], enf)
    assert ctx.allowed("admin_api")
    assert not context(["member"], enf).allowed("admin_api")


def test_is_admin_without_a_policy_is_false():
    ctx = RequestContext(user_id="u1", roles=["admin"])
    assert ctx.is_admin is False


def test_context_scope_names_the_token():
    enf = enforcer(RuleDefault("context_is_admin", "role:admin"))
    assert context([], enf).scope == "project"
    assert context([], enf, project_id=None, domain_id="d1").scope == "domain"
    assert context([], enf, project_id=None, system_scope="all").scope == "system"
    assert context([], enf, project_id=None).scope == "project"


def test_context_can_raises_invalid_scope_and_allowed_says_false():
    enf = enforcer(RuleDefault("context_is_admin", "role:admin"),
                   RuleDefault("r", "@", scope_types=("project",)))
    ctx = context(["admin"], enf, project_id=None, domain_id="d1")
    assert not ctx.allowed("r")
    with pytest.raises(InvalidScope):
        ctx.can("r")


# ---------------------------------------------------------------- the refusal, in each service's body

def test_invalid_scope_is_each_services_own_403():
    from nubes.core.errors import api_wg, keystone_style, neutron_style, nova_style
    from nubes.core.exceptions import CloudError

    err = InvalidScope("os_compute_api:servers:index", ("project",), "domain")
    status, _, body = nova_style.render(err, "req-1")
    assert status == 403 and json.loads(body) == {"forbidden": {
        "code": 403, "message": "Policy doesn't allow os_compute_api:servers:index to be performed."}}
    status, _, body = neutron_style.render(InvalidScope("get_network", ("project",), "system"), "req-1")
    assert status == 403 and json.loads(body)["NeutronError"]["type"] == "PolicyNotAuthorized"
    status, _, body = keystone_style.render(InvalidScope("identity:list_services", ("system", "project"),
                                                         "domain"), "req-1")
    assert status == 403 and json.loads(body)["error"]["code"] == 403
    status, _, body = api_wg.render(InvalidScope("placement:usages", ("project",), "system"), "req-1")
    assert status == 403 and json.loads(body)["errors"][0]["status"] == 403
    # a refusal that crossed the bus (rebuilt from its dict) renders the same way
    again = CloudError.from_dict(err.to_dict())
    assert nova_style.render(again, "req-2")[0] == 403
