"""Identity's configuration section: token lifetime, password hashing and security compliance."""

from __future__ import annotations

from dataclasses import dataclass

from nubes.core.config import ServiceConfig


@dataclass
class IdentityConfig(ServiceConfig):
    port: int = 5000
    token_expiration: int = 3600             # seconds
    allow_expired_window: int = 172800       # ?allow_expired=1 accepts tokens this long past expiry
    password_hash_rounds: int = 12           # bcrypt cost, as Keystone's default
    max_active_keys: int = 3
    key_repository: str = ""                 # default <state_dir>/fernet-keys
    credential_key_repository: str = ""      # default <state_dir>/credential-keys
    validation_cache_ttl: int = 300          # seconds a validated token body is reused
    # [security_compliance], as Keystone names them.
    lockout_failure_attempts: int = 0        # 0 disables lockout
    lockout_duration: int = 1800
    password_expires_days: int = 0           # 0: passwords never expire
    unique_last_password_count: int = 0
    minimum_password_age: int = 0            # days
    password_regex: str = ""
    password_regex_description: str = ""
    change_password_upon_first_use: bool = False
    disable_user_account_days_inactive: int = 0
    # [trust], as Keystone names them: how deep a trust may be redelegated.
    max_redelegation_count: int = 3
    # Application credentials and users may not hold more than this many.
    max_list_limit: int = 0                  # 0: unlimited, as Keystone's default
