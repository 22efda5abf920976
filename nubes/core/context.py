"""The request context: who is calling, with what scope and roles, under which request id."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field
from typing import Any

from nubes.core.auth.policy import target_value, token_scope

_UNKNOWN: Any = object()
ADMIN_RULE = "context_is_admin"
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(rid: str | None) -> contextvars.Token:
    return _request_id.set(rid)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


def new_request_id() -> str:
    return "req-" + str(uuid.uuid4())


@dataclass
class RequestContext:
    request_id: str = field(default_factory=new_request_id)
    user_id: str | None = None
    user_name: str | None = None
    user_domain_id: str | None = None
    user_domain_name: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    project_domain_name: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None
    system_scope: str | None = None
    roles: list[str] = field(default_factory=list)
    is_admin_project: bool = True
    auth_token: str | None = None
    app_cred_id: str | None = None
    # An application credential's access rules ([{service, method, path}]); None: unrestricted.
    access_rules: list[dict[str, Any]] | None = None
    trust_id: str | None = None          # the trust of a trust-scoped token
    service_roles: list[str] = field(default_factory=list)
    service_user_id: str | None = None
    catalog: list[dict[str, Any]] = field(default_factory=list)
    expires_at: str | None = None
    enforcer: Any = None
    api_version: tuple[int, int] = (0, 0)
    _policy_creds: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    _policy_memo: dict[tuple, bool] = field(default_factory=dict, repr=False, compare=False)
    _rule_keys: dict[str, tuple[str, ...] | None] = field(default_factory=dict, repr=False, compare=False)

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        """The service's ``context_is_admin`` rule for this caller, decided by the policy engine once
        per request (an operator's override of that rule changes who is admin everywhere)."""
        return bool(self._creds()["is_admin"])

    @property
    def scope(self) -> str:
        """The token's scope as the policy engine sees it: system, domain or project (unscoped too)."""
        return token_scope(self._creds())

    def to_policy_values(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "project_id": self.project_id,
            "tenant_id": self.project_id,   # the name Neutron's and Nova's rules use
            "project_domain_id": self.project_domain_id,
            "domain_id": self.domain_id,
            "system_scope": self.system_scope,
            "roles": [r.lower() for r in self.roles],
            "is_admin_project": self.is_admin_project,
            "service_user_id": self.service_user_id,
            "service_roles": list(self.service_roles),
            "app_cred_id": self.app_cred_id,
            "trust_id": self.trust_id,
        }

    def _creds(self) -> dict[str, Any]:
        if self._policy_creds is None:
            self._policy_creds = _Creds(self.to_policy_values(), self)
        return self._policy_creds

    def can(self, rule: str, target: dict[str, Any] | None = None) -> None:
        """Raise PolicyNotAuthorized unless the service's policy allows ``rule``."""
        if target is None:
            target = {"project_id": self.project_id, "user_id": self.user_id}
        self.enforcer.authorize(rule, target, self._creds())

    def allowed(self, rule: str, target: dict[str, Any] | None = None) -> bool:
        """Whether the policy allows ``rule``; decisions are remembered for the request, per
        rule and per value of the target keys the rule reads (cheap lists of many resources)."""
        if target is None:
            target = {"project_id": self.project_id, "user_id": self.user_id}
        keys = self._rule_keys.get(rule, _UNKNOWN)
        if keys is _UNKNOWN:
            found = self.enforcer.target_keys(rule) if hasattr(self.enforcer, "target_keys") else None
            keys = tuple(sorted(found)) if found is not None else None
            self._rule_keys[rule] = keys
        memo_key = None
        if keys is not None:
            memo_key = (rule, *[target_value(target, k) for k in keys])
            try:
                return self._policy_memo[memo_key]
            except KeyError:
                pass
            except TypeError:        # an unhashable target value: no memo for this one
                memo_key = None
        decision = self.enforcer.enforce(rule, target, self._creds())
        if memo_key is not None:
            self._policy_memo[memo_key] = decision
        return decision


class _Creds(dict):
    """A request's policy credentials; ``is_admin`` (what legacy rules such as ``is_admin:True`` read)
    is the service's ``context_is_admin`` rule, evaluated on first use -- as False while it is being
    evaluated, so a rule that reads it cannot recurse."""

    def __init__(self, values: dict[str, Any], ctx: RequestContext) -> None:
        super().__init__(values)
        self["roles"] = frozenset(values.get("roles") or ())   # already lower-cased; role checks look up
        self._ctx = ctx

    def __missing__(self, key: str) -> Any:
        if key != "is_admin":
            raise KeyError(key)
        enforcer = self._ctx.enforcer
        if enforcer is None:            # not decided yet: no policy is bound to the request
            return False
        self["is_admin"] = False
        decision = bool(enforcer.enforce(ADMIN_RULE, {}, self))
        self["is_admin"] = decision
        return decision
