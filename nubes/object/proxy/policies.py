"""Who may use an account: Swift keystoneauth's rules, written as policy.

The account of project P is ``AUTH_P``. Its operators (``operator_roles = admin, member``: a
user with either role on P) own it: create containers, read and write everything. A ``reader``
on P may read. A ``ResellerAdmin`` (keystoneauth's ``reseller_admin_role``) may use every account.
Everyone else is refused (403), unless an ACL lets them in (acl.py). Only a reseller admin sets
an account's quota."""

from __future__ import annotations

from nubes.core.auth.policy import RuleDefault

OPERATOR = "(role:admin or role:member) and project_id:%(project_id)s"

DEFAULTS = [
    RuleDefault("context_is_admin", "role:admin"),
    RuleDefault("reseller_admin", "role:ResellerAdmin"),
    RuleDefault("object:account_operator", f"rule:reseller_admin or ({OPERATOR})",
                "Read and write the account, its containers and objects.", ("project",)),
    RuleDefault("object:account_reader",
                "rule:object:account_operator or (role:reader and project_id:%(project_id)s)",
                "Read the account, its containers and objects.", ("project",)),
    RuleDefault("object:set_account_quota", "rule:reseller_admin",
                "Set or remove an account's X-Account-Meta-Quota-Bytes.", ("project",)),
]
