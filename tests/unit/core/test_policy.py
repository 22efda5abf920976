"""The policy engine: oslo.policy rule language, overrides, reloading."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from nubes.core.auth.policy import Enforcer, PolicyError, PolicySyntaxError, RuleDefault
from nubes.core.exceptions import PolicyNotAuthorized

CREDS = {
    "user_id": "u1",
    "user_domain_id": "d1",
    "project_id": "p1",
    "project_domain_id": "d1",
    "domain_id": None,
    "system_scope": None,
    "roles": ["member", "reader"],
    "is_admin_project": True,
    "service_roles": [],
    "token": {"is_admin_project": False},
}


def check(rule: str, target: dict | None = None, creds: dict | None = None, **extra: str) -> bool:
    defaults = [RuleDefault("r", rule)] + [RuleDefault(n, s) for n, s in extra.items()]
    return Enforcer(defaults).enforce("r", target or {}, CREDS if creds is None else creds)


def with_roles(*roles: str, **more: object) -> dict:
    return {**CREDS, "roles": list(roles), **more}


# ---------------------------------------------------------------- special checks

@pytest.mark.parametrize("rule, expected", [("@", True), ("!", False), ("", True), ("   ", True)])
def test_special_checks(rule, expected):
    assert check(rule) is expected


# ---------------------------------------------------------------- role checks

def test_role_matches_case_insensitively():
    assert check("role:member")
    assert check("role:MEMBER")
    assert check("role:admin", creds=with_roles("Admin"))
    assert not check("role:admin")


def test_role_without_roles_in_creds():
    assert not check("role:member", creds={"user_id": "u1"})


def test_role_from_target():
    assert check("role:%(target.role.name)s", {"target": {"role": {"name": "Reader"}}})
    assert not check("role:%(target.role.name)s", {})


# ---------------------------------------------------------------- generic checks

def test_substitution_from_target():
    assert check("project_id:%(project_id)s", {"project_id": "p1"})
    assert not check("project_id:%(project_id)s", {"project_id": "p2"})


def test_dotted_target_keys_nested_and_flat():
    assert check("user_id:%(target.token.user_id)s", {"target": {"token": {"user_id": "u1"}}})
    assert check("user_id:%(target.token.user_id)s", {"target.token.user_id": "u1"})
    assert not check("domain_id:%(target.user.domain_id)s", {"target": {"user": {"domain_id": "d1"}}})
    assert check("user_domain_id:%(target.user.domain_id)s", {"target": {"user": {"domain_id": "d1"}}})


@pytest.mark.parametrize("target", [{}, {"target": {}}, {"target": {"token": None}}, {"target": "x"}])
def test_missing_target_key_is_false(target):
    assert not check("user_id:%(target.token.user_id)s", target)
    assert check("not user_id:%(target.token.user_id)s", target)


def test_none_never_matches():
    assert not check("domain_id:%(domain_id)s", {"domain_id": None})
    assert not check("domain_id:%(domain_id)s", {"domain_id": "d1"})


def test_missing_creds_key_is_false():
    assert not check("nope:%(project_id)s", {"project_id": "p1"})


def test_literal_bare_string():
    assert check("system_scope:all", creds=with_roles("reader", system_scope="all"))
    assert not check("system_scope:all")


@pytest.mark.parametrize("rule, expected", [
    ("is_admin_project:True", True),
    ("is_admin_project:False", False),
    ("is_admin_project:true", True),
    ("token.is_admin_project:False", True),
    ("token.is_admin_project:True", False),
    ("user_id:'u1'", True),
    ('user_id:"u1"', True),
    ("user_id:'u2'", False),
    ("is_admin:1", False),
])
def test_literals_on_the_right(rule, expected):
    assert check(rule) is expected


def test_numbers():
    assert check("level:20", creds={"level": 20})
    assert check("level:20", creds={"level": "20"})
    assert not check("level:21", creds={"level": 20})


def test_quoted_literal_on_the_left():
    assert check("'member':%(role.name)s", {"role": {"name": "member"}})
    assert not check("'member':%(role.name)s", {"role": {"name": "admin"}})
    assert not check("'member':%(role.name)s", {})
    assert check("True:%(user.enabled)s", {"user": {"enabled": True}})
    assert not check("True:%(user.enabled)s", {"user": {"enabled": False}})
    assert check("'a:b':%(x)s", {"x": "a:b"})


def test_quoted_literal_with_spaces():
    assert check("project_name:'my project'", creds={"project_name": "my project"})


def test_list_valued_creds_match_any_element():
    assert check("service_roles:service", creds=with_roles(service_roles=["service"]))
    assert not check("service_roles:service")


def test_substitution_inside_text():
    assert check("name:proj-%(id)s", {"id": 7}, creds={"name": "proj-7"})
    assert not check("name:proj-%(id)s", {}, creds={"name": "proj-7"})


# ---------------------------------------------------------------- operators

@pytest.mark.parametrize("roles, expected", [
    ((), True),                  # not a -> True
    (("a",), False),             # (not a) false, b and c false
    (("a", "b"), False),
    (("a", "b", "c"), True),     # b and c
    (("b",), True),              # not a
])
def test_precedence_not_and_or(roles, expected):
    assert check("not role:a or role:b and role:c", creds=with_roles(*roles)) is expected


@pytest.mark.parametrize("roles, expected", [
    ((), False), (("b",), False), (("c",), True), (("a", "c"), False), (("b", "c"), True),
])
def test_parentheses(roles, expected):
    assert check("(not role:a or role:b) and role:c", creds=with_roles(*roles)) is expected


def test_nested_parentheses_and_not():
    rule = "not (role:a and (role:b or role:c))"
    assert check(rule, creds=with_roles("a"))
    assert not check(rule, creds=with_roles("a", "c"))
    assert check("not not role:a", creds=with_roles("a"))


def test_keywords_are_case_insensitive():
    assert check("role:x OR NOT role:y And role:member")


def test_parentheses_touching_words():
    assert check("(role:member)and(project_id:%(project_id)s)", {"project_id": "p1"})


# ---------------------------------------------------------------- rule references

def test_rule_reference():
    assert check("rule:is_member", is_member="role:member")
    assert not check("rule:is_admin", is_admin="role:admin")
    assert check("rule:owner and rule:is_member", {"user_id": "u1"},
                 owner="user_id:%(user_id)s", is_member="role:member")


def test_rule_names_may_contain_colons():
    assert check("rule:identity:base", **{"identity:base": "role:reader"})


def test_recursion_denies_and_logs(caplog):
    caplog.set_level(logging.ERROR)
    enf = Enforcer([RuleDefault("a", "role:member or rule:b"), RuleDefault("b", "rule:a"),
                    RuleDefault("c", "role:member or rule:c"), RuleDefault("d", "not rule:d"),
                    RuleDefault("uses_a", "@ or rule:a"), RuleDefault("fine", "role:member")])
    for name in ("a", "b", "c", "d", "uses_a"):
        assert not enf.enforce(name, {}, CREDS), name
    assert enf.enforce("fine", {}, CREDS)
    assert "reference cycle" in caplog.text


def test_unknown_rule_reference_denies_even_under_not(caplog):
    caplog.set_level(logging.WARNING)
    assert not check("role:member or rule:typo")
    assert not check("not rule:typo")
    assert "undefined rule 'typo'" in caplog.text


def test_unknown_rule_name_denied_and_warned_once(caplog):
    caplog.set_level(logging.WARNING)
    enf = Enforcer([RuleDefault("x", "@")])
    assert not enf.enforce("nope", {}, CREDS)
    assert not enf.enforce("nope", {}, CREDS)
    assert caplog.text.count("'nope' is not defined") == 1


# ---------------------------------------------------------------- syntax errors

@pytest.mark.parametrize("rule, fragment", [
    ("role:a and", "end of the rule"),
    ("role:a or or role:b", "found 'or'"),
    ("(role:a", "missing ')'"),
    ("role:a)", "unexpected ')'"),
    ("()", "found ')'"),
    ("role:a role:b", "unexpected 'role:b'"),
    ("admin", "not a check"),
    ("role:", "not a check"),
    (":x", "not a check"),
    ("user_id:'u1", "unterminated quoted string"),
    ("project_id:%(project_id", "unterminated"),
    ("project_id:%(project_id)d", "only %(name)s"),
    ("%(x)s:y", "right side"),
    ("rule:%(x)s", "rule name"),
    ("http://example.com/check", "not supported"),
    ("https://example.com/check", "not supported"),
])
def test_syntax_errors_name_the_rule(rule, fragment):
    with pytest.raises(PolicySyntaxError) as err:
        Enforcer([RuleDefault("ok", "@"), RuleDefault("svc:broken", rule)])
    assert err.value.rule == "svc:broken"
    assert "'svc:broken'" in str(err.value) and "policy defaults" in str(err.value)
    assert fragment in str(err.value)


def test_duplicate_default_rejected():
    with pytest.raises(PolicyError, match="defined twice"):
        Enforcer([RuleDefault("x", "@"), RuleDefault("x", "!")])


# ---------------------------------------------------------------- the API

def test_authorize_raises_policy_not_authorized():
    enf = Enforcer([RuleDefault("svc:get", "role:admin"), RuleDefault("svc:list", "")])
    enf.authorize("svc:list", {}, CREDS)
    with pytest.raises(PolicyNotAuthorized) as err:
        enf.authorize("svc:get", {}, CREDS)
    assert err.value.status == 403 and err.value.rule == "svc:get"
    with pytest.raises(PolicyNotAuthorized):
        enf.authorize("svc:unknown", {}, CREDS)


def test_rules_lists_effective_text():
    enf = Enforcer([RuleDefault("a", "role:admin"), RuleDefault("b", "")])
    assert enf.rules() == {"a": "role:admin", "b": ""}
    assert [d.name for d in enf.defaults] == ["a", "b"]


def test_identity_defaults_compile():
    from nubes.identity import policies

    enf = Enforcer(policies.DEFAULTS)
    admin = with_roles("admin")
    assert enf.enforce("identity:create_user", {}, admin)
    assert not enf.enforce("identity:create_user", {}, CREDS)
    token_target = {"target": {"token": {"user_id": "u1"}}}
    assert enf.enforce("identity:validate_token", token_target, CREDS)


# ---------------------------------------------------------------- override files

DEFAULTS = [RuleDefault("svc:get", "role:admin"), RuleDefault("svc:list", "role:reader")]


def write(path: Path, text: str, bump: int = 0) -> None:
    path.write_text(text)
    if bump:                        # make the change visible even on coarse-mtime filesystems
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def test_missing_override_file_is_fine(tmp_path):
    enf = Enforcer(DEFAULTS, tmp_path / "absent.yaml")
    assert enf.rules() == {"svc:get": "role:admin", "svc:list": "role:reader"}


def test_yaml_override_replaces_one_rule(tmp_path):
    f = tmp_path / "svc.yaml"
    write(f, '# operator overrides\n"svc:get": "role:member"\nextra: "role:nobody"\n')
    enf = Enforcer(DEFAULTS, f)
    assert enf.enforce("svc:get", {}, CREDS)
    assert enf.enforce("svc:list", {}, CREDS)
    assert enf.rules()["svc:get"] == "role:member" and enf.rules()["extra"] == "role:nobody"


def test_json_override_and_list_of_lists(tmp_path):
    f = tmp_path / "svc.json"
    f.write_text(json.dumps({"svc:get": [["role:member", "user_id:%(user_id)s"], ["role:admin"]],
                             "svc:list": [], "never": [[]], "single": ["role:a"]}))
    enf = Enforcer(DEFAULTS, f)
    assert enf.rules()["svc:get"] == "(role:member and user_id:%(user_id)s) or role:admin"
    assert enf.enforce("svc:get", {"user_id": "u1"}, CREDS)
    assert not enf.enforce("svc:get", {"user_id": "u2"}, CREDS)
    assert enf.enforce("svc:list", {}, {"roles": []})
    assert not enf.enforce("never", {}, with_roles("admin"))
    assert enf.rules()["single"] == "role:a"


def test_empty_override_file(tmp_path):
    f = tmp_path / "svc.yaml"
    write(f, "# nothing here\n")
    assert Enforcer(DEFAULTS, f).rules()["svc:get"] == "role:admin"


def test_override_can_reference_defaults_and_vice_versa(tmp_path):
    f = tmp_path / "svc.yaml"
    write(f, 'helper: "role:member"\n"svc:get": "rule:helper or rule:svc:list"\n')
    enf = Enforcer(DEFAULTS, f)
    assert enf.enforce("svc:get", {}, with_roles("reader"))
    assert enf.enforce("svc:get", {}, with_roles("member"))
    assert not enf.enforce("svc:get", {}, with_roles("other"))


def test_override_syntax_error_fails_at_load_with_file_and_rule(tmp_path):
    f = tmp_path / "svc.yaml"
    write(f, '"svc:get": "role:admin or"\n')
    with pytest.raises(PolicySyntaxError) as err:
        Enforcer(DEFAULTS, f)
    assert str(f) in str(err.value) and "'svc:get'" in str(err.value)


@pytest.mark.parametrize("text", ["- just\n- a list\n", "a: [\n", '"svc:get": 3\n'])
def test_malformed_override_file_fails_at_load(tmp_path, text):
    f = tmp_path / "svc.yaml"
    write(f, text)
    with pytest.raises(PolicyError, match=str(f)):
        Enforcer(DEFAULTS, f)


def test_override_reloaded_after_modification(tmp_path):
    f = tmp_path / "svc.yaml"
    write(f, '"svc:get": "role:member"\n')
    enf = Enforcer(DEFAULTS, f, check_interval=0)
    assert enf.enforce("svc:get", {}, CREDS)
    write(f, '"svc:get": "role:nobody"\n', bump=2)
    assert not enf.enforce("svc:get", {}, CREDS)
    assert enf.rules()["svc:get"] == "role:nobody"
    f.unlink()                                      # removing the file restores the defaults
    assert enf.rules()["svc:get"] == "role:admin"
    write(f, '"svc:get": "@"\n', bump=4)            # and a new file is picked up
    assert enf.enforce("svc:get", {}, {})


def test_reload_is_throttled(tmp_path):
    f = tmp_path / "svc.yaml"
    write(f, '"svc:get": "role:member"\n')
    enf = Enforcer(DEFAULTS, f, check_interval=3600)
    write(f, '"svc:get": "!"\n', bump=2)
    assert enf.enforce("svc:get", {}, CREDS)         # not re-checked within the interval
    enf.reload()
    assert not enf.enforce("svc:get", {}, CREDS)


def test_bad_file_on_reload_keeps_previous_rules(tmp_path, caplog):
    f = tmp_path / "svc.yaml"
    write(f, '"svc:get": "role:member"\n')
    enf = Enforcer(DEFAULTS, f, check_interval=0)
    write(f, '"svc:get": "role:member and (role:x"\n', bump=2)
    caplog.set_level(logging.ERROR)
    assert enf.enforce("svc:get", {}, CREDS)
    assert enf.enforce("svc:get", {}, CREDS)
    assert caplog.text.count("Keeping the previous policy") == 1
    assert "'svc:get'" in caplog.text
    write(f, '"svc:get": "!"\n', bump=4)
    assert not enf.enforce("svc:get", {}, CREDS)


def test_null_rule_in_file_allows_and_warns(tmp_path, caplog):
    f = tmp_path / "svc.yaml"
    write(f, '"svc:get":\n')
    caplog.set_level(logging.WARNING)
    enf = Enforcer(DEFAULTS, f)
    assert enf.enforce("svc:get", {}, {"roles": []})
    assert "'svc:get' is empty" in caplog.text


def test_service_check_kinds():
    """A service may add its own check kinds (Neutron's field:<resource>:<attr>=<value>)."""
    def field(match: str):
        resource, _, rest = match.partition(":")
        attr, sep, value = rest.partition("=")
        if not sep:
            raise ValueError(f"field:{match} needs '='")
        return lambda target, creds: str(target.get(attr)) == value

    enf = Enforcer([RuleDefault("shared", "field:networks:shared=True"),
                    RuleDefault("get", "role:admin or rule:shared")], kinds={"field": field})
    assert enf.enforce("get", {"shared": True}, {"roles": []})
    assert not enf.enforce("get", {"shared": False}, {"roles": []})
    with pytest.raises(PolicySyntaxError):
        Enforcer([RuleDefault("bad", "field:networks:shared")], kinds={"field": field})


def test_target_keys_and_memoised_decisions():
    from nubes.core.context import RequestContext

    enf = Enforcer([RuleDefault("owner", "project_id:%(project_id)s"),
                    RuleDefault("get", "role:admin or rule:owner"),
                    RuleDefault("anyone", "role:reader"),
                    RuleDefault("custom", "thing:x")], kinds={"thing": lambda m: (lambda t, c: True)})
    assert enf.target_keys("get") == frozenset({"project_id"})
    assert enf.target_keys("anyone") == frozenset()
    assert enf.target_keys("custom") is None
    ctx = RequestContext(user_id="u", project_id="p", roles=["reader"], enforcer=enf)
    assert ctx.allowed("get", {"project_id": "p", "id": 1})
    assert not ctx.allowed("get", {"project_id": "q", "id": 2})
    assert ctx.allowed("get", {"project_id": "p", "id": 3})      # same decision, from the memo
    assert len(ctx._policy_memo) == 2


def test_memoised_decisions_follow_dotted_target_keys():
    from nubes.core.context import RequestContext

    enf = Enforcer([RuleDefault("get", "user_id:%(target.credential.user_id)s")])
    ctx = RequestContext(user_id="u1", project_id="p", roles=["reader"], enforcer=enf)
    assert ctx.allowed("get", {"target": {"credential": {"user_id": "u1"}}})
    assert not ctx.allowed("get", {"target": {"credential": {"user_id": "u2"}}})
