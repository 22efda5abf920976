"""The policy engine: evaluates the oslo.policy rule language, so operators' policy files keep working.

Each service declares its rules as ``RuleDefault`` constants in ``<service>/policies.py``;
an operator file (YAML or JSON, ``name: rule``) replaces individual rules.  Every rule is
parsed once per load into a tree of closures (``policy_language``); a request only calls them.

Scope is enforced as oslo.policy does with ``enforce_scope``: a rule whose ``scope_types``
do not include the token's scope (system, domain, else project -- an unscoped token counts as
project, as in oslo.policy) is refused before its check string is evaluated; a rule reached
through ``rule:`` is not scope-checked.  Legacy mode (``policy_defaults = "legacy"``, both of
oslo.policy's ``enforce_scope`` and ``enforce_new_defaults`` off) checks no scope and accepts,
for every rule the operator did not override, its new default *or* its deprecated one.

A rule that refers to an undefined rule, or that is part of (or depends on) a reference
cycle, is logged when the policy loads and denies every request: it fails closed,
whatever order its branches would have been evaluated in.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nubes.core.auth.policy_language import (
    RULE_REF,
    SUBST_KEY,
    Check,
    PolicyError,
    PolicySyntaxError,
    broken_rules,
    compile_rule,
    never,
    target_value,
)
from nubes.core.exceptions import InvalidScope, PolicyNotAuthorized

__all__ = [
    "POLICY_MODES",
    "Check",
    "Enforcer",
    "PolicyError",
    "PolicySyntaxError",
    "RuleDefault",
    "target_value",
    "token_scope",
    "without_personas",
]

LOG = logging.getLogger(__name__)

_DEFAULTS_SOURCE = "policy defaults"
SCOPES = ("system", "domain", "project")
POLICY_MODES = ("secure", "legacy")


@dataclass(frozen=True)
class RuleDefault:
    name: str
    check_str: str
    description: str = ""
    # The token scopes the rule accepts ("system", "domain", "project"); empty: any token.
    scope_types: tuple[str, ...] = ()
    # The rule it replaced (oslo.policy's deprecated_rule), accepted beside it in legacy mode.
    deprecated: str | None = None

    def __post_init__(self) -> None:
        unknown = set(self.scope_types) - set(SCOPES)
        if unknown:
            raise PolicyError(f"{_DEFAULTS_SOURCE}: rule {self.name!r}: unknown scope types "
                              f"{sorted(unknown)}")


_PERSONA = re.compile(r"\brole:(?:reader|member|manager) and ")


def without_personas(check_str: str) -> str:
    """A project service's legacy form of a rule: the new default without its persona roles
    (``role:member and project_id:%(project_id)s`` becomes the owner check the deprecated
    ``admin_or_owner`` rules were), so legacy mode accepts any role of the owning project."""
    return _PERSONA.sub("", check_str)


def token_scope(creds: Mapping[str, Any]) -> str:
    """The scope oslo.policy gives a token: system, domain, else project (unscoped tokens too)."""
    if creds.get("system_scope"):
        return "system"
    if creds.get("domain_id"):
        return "domain"
    return "project"


# ---------------------------------------------------------------- the enforcer

def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy file: {exc}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: not a valid policy file: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise PolicyError(f"{path}: a policy file must map rule names to rules")
    return data


class Enforcer:
    """Evaluates a service's rules: defaults from code, overridden rule by rule by a file."""

    def __init__(self, defaults: Iterable[RuleDefault], override_file: str | Path | None = None,
                 *, check_interval: float = 1.0, mode: str = "secure",
                 kinds: Mapping[str, Callable[[str], Check]] | None = None) -> None:
        if mode not in POLICY_MODES:
            raise PolicyError(f"policy_defaults must be one of {', '.join(POLICY_MODES)}, not {mode!r}")
        self.mode = mode
        self.enforce_scope = mode == "secure"
        # A service's own check kinds (Neutron's "field:"): kind -> factory(match) -> Check;
        # a factory raises ValueError for a match it cannot parse.
        self._kinds = dict(kinds or {})
        self._defaults: dict[str, RuleDefault] = {}
        for default in defaults:
            if default.name in self._defaults:
                raise PolicyError(f"{_DEFAULTS_SOURCE}: rule {default.name!r} is defined twice")
            self._defaults[default.name] = default
        # only the rules that refuse some scope are checked (one accepting all three takes any token)
        self._scopes = {d.name: frozenset(d.scope_types) for d in self._defaults.values()
                        if d.scope_types and set(d.scope_types) != set(SCOPES)}
        self._path = Path(override_file) if override_file else None
        self._interval = check_interval
        self._next_check = 0.0
        self._stamp: tuple[int, int, int] | None = None
        self._warned: set[str] = set()
        self._table: dict[str, Check] = {}
        self._texts: dict[str, str] = {}
        self._target_keys: dict[str, frozenset[str] | None] = {}
        self._overrides = 0
        self._load(self._stat())      # raises on a bad file: fail at startup, not per request
        self._next_check = time.monotonic() + self._interval

    @property
    def defaults(self) -> tuple[RuleDefault, ...]:
        return tuple(self._defaults.values())

    def scope_types(self, rule: str) -> frozenset[str]:
        """The scopes ``rule`` accepts (all three when it names none)."""
        return self._scopes.get(rule, frozenset(SCOPES))

    def scope_allows(self, rule: str, creds: Mapping[str, Any]) -> bool:
        """Whether the token's scope may be used for ``rule`` at all (always, in legacy mode)."""
        if not self.enforce_scope:
            return True
        allowed = self._scopes.get(rule)
        return allowed is None or token_scope(creds) in allowed

    def enforce(self, rule: str, target: Mapping[str, Any] | None, creds: Mapping[str, Any]) -> bool:
        """Whether ``creds`` may do ``rule`` on ``target``; False for a token of the wrong scope."""
        self._maybe_reload()
        check = self._table.get(rule)
        if check is None:
            if rule not in self._warned:
                self._warned.add(rule)
                LOG.warning("Policy rule %r is not defined; denying", rule)
            return False
        if not self.scope_allows(rule, creds):
            return False
        return check(target or {}, creds)

    def authorize(self, rule: str, target: Mapping[str, Any] | None, creds: Mapping[str, Any]) -> None:
        """Raise InvalidScope (a 403) for a token of the wrong scope, PolicyNotAuthorized (403) when
        the rule denies."""
        self._maybe_reload()
        if not self.scope_allows(rule, creds):
            scope = token_scope(creds)
            LOG.debug("Policy %r refuses a %s-scoped token (it accepts %s) for user %s", rule, scope,
                      ", ".join(sorted(self._scopes[rule])), creds.get("user_id"))
            raise InvalidScope(rule, tuple(sorted(self._scopes[rule])), scope)
        check = self._table.get(rule)
        if check is None or not check(target or {}, creds):
            if check is None and rule not in self._warned:
                self._warned.add(rule)
                LOG.warning("Policy rule %r is not defined; denying", rule)
            LOG.debug("Policy %r denied for user %s", rule, creds.get("user_id"))
            raise PolicyNotAuthorized(rule)

    def target_keys(self, rule: str) -> frozenset[str] | None:
        """The target keys ``rule`` can look at (through ``%(key)s``, directly or via ``rule:``),
        or None when that cannot be known (a service's own check kind may read any of them).

        A caller evaluating one rule against many targets (a list of resources) may reuse a
        decision for targets that agree on these keys.
        """
        self._maybe_reload()
        memo = self._target_keys
        if rule not in memo:
            memo[rule] = self._keys_of(rule, set())
        return memo[rule]

    def _keys_of(self, rule: str, seen: set[str]) -> frozenset[str] | None:
        text = self._texts.get(rule)
        if text is None or rule in seen:
            return frozenset()
        seen.add(rule)
        if any(re.search(rf"(^|[\s(]){re.escape(kind)}:", text) for kind in self._kinds):
            return None
        keys = set(SUBST_KEY.findall(text))
        for ref in RULE_REF.findall(text):
            sub = self._keys_of(ref, seen)
            if sub is None:
                return None
            keys |= sub
        return frozenset(keys)

    def rules(self) -> dict[str, str]:
        """The effective rules (defaults with the file's overrides) as policy-language text."""
        self._maybe_reload()
        return dict(self._texts)

    def reload(self) -> None:
        """Re-read the override file now if it changed; a bad file keeps the current rules."""
        self._next_check = 0.0
        self._maybe_reload()

    def _stat(self) -> tuple[int, int, int] | None:
        if self._path is None:
            return None
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if self._path is None or now < self._next_check:
            return
        self._next_check = now + self._interval
        try:
            stamp = self._stat()
            if stamp != self._stamp:
                self._load(stamp)
        except PolicyError as exc:
            LOG.error("Keeping the previous policy: %s", exc)
        except OSError as exc:
            LOG.error("Keeping the previous policy: cannot stat %s: %s", self._path, exc)

    def _load(self, stamp: tuple[int, int, int] | None) -> None:
        self._stamp = stamp           # remembered even if loading fails, so a bad file is logged once
        overrides = _read_file(self._path) if self._path is not None and stamp is not None else {}
        source = str(self._path)
        entries = [(n, self._default_text(d), _DEFAULTS_SOURCE) for n, d in self._defaults.items()
                   if n not in overrides]
        entries += [(n, v, source) for n, v in overrides.items()]
        table: dict[str, Check] = {}
        texts: dict[str, str] = {}
        refs: dict[str, set[str]] = {}
        for name, value, src in entries:
            if value is None:
                LOG.warning("%s: policy rule %r is empty and allows everyone", src, name)
            table[name], refs[name], texts[name] = compile_rule(name, value, table, src, self._kinds)
        for name, reason in broken_rules(refs).items():
            LOG.error("Policy rule %r denies every request: it %s", name, reason)
            table[name] = never
        self._table, self._texts = table, texts
        self._target_keys = {}
        if overrides or self._overrides:
            LOG.info("Loaded %d policy overrides from %s", len(overrides), self._path)
        self._overrides = len(overrides)

    def _default_text(self, default: RuleDefault) -> str:
        legacy = default.deprecated
        if self.mode == "legacy" and legacy is not None and legacy != default.check_str:
            new = default.check_str.strip() or "@"
            return f"({new}) or ({legacy.strip() or '@'})"
        return default.check_str
