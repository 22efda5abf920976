"""Typed configuration: one TOML file, a section per service, plus environment overrides.

``load(path, specs)`` reads ``nubes.toml`` (optional) and applies
``NUBES_<SECTION>__<KEY>`` environment variables on top.  Every default runs the
all-in-one cloud; nothing here is a module-level global.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nubes.core.auth.policy import POLICY_MODES

DEFAULT_STATE_DIR = Path("/var/lib/nubes") if os.geteuid() == 0 else Path.home() / ".nubes"


@dataclass
class CoreConfig:
    state_dir: Path = DEFAULT_STATE_DIR
    bind_host: str = "127.0.0.1"
    public_host: str = "127.0.0.1"
    region: str = "RegionOne"
    bus_url: str = "memory://"
    log_level: str = "INFO"
    debug: bool = False
    # Keystone's default max_request_body_size.
    max_request_body: int = 114688
    # Used by every service's token middleware to find identity.
    identity_url: str = ""
    service_user: str = "nubes"
    service_password: str = ""
    service_project: str = "service"
    # Every API listener's /metrics: "on" (anyone who reaches the port), "off" (404), or "token"
    # (an "Authorization: Bearer <metrics_token>" header, as Prometheus' scrape authorization sends).
    metrics: str = "on"
    metrics_token: str = ""
    # "secure": upstream's current defaults with scope enforced (oslo.policy's enforce_scope and
    # enforce_new_defaults on); "legacy": the deprecated rules accepted too, scope not checked.
    policy_defaults: str = "secure"


@dataclass
class ServiceConfig:
    """Fields every service section has; services subclass it in their conf.py."""

    enabled: bool = True
    port: int = 0
    database_url: str = ""
    policy_file: str = ""
    policy_defaults: str = ""     # empty: [core] policy_defaults
    workers: int = 1


@dataclass
class Config:
    core: CoreConfig = field(default_factory=CoreConfig)
    services: dict[str, ServiceConfig] = field(default_factory=dict)
    path: Path | None = None

    def service(self, name: str) -> Any:
        return self.services[name]

    def database_url(self, name: str) -> str:
        url = self.services[name].database_url
        return url or f"sqlite+aiosqlite:///{self.core.state_dir / (name + '.sqlite')}"

    def policy_file(self, name: str) -> Path:
        pf = self.services[name].policy_file
        return Path(pf) if pf else self.core.state_dir / "policy" / f"{name}.yaml"

    def policy_mode(self, name: str) -> str:
        """The service's policy defaults: its own ``policy_defaults``, else the core's."""
        return self.services[name].policy_defaults or self.core.policy_defaults

    def endpoint_url(self, name: str, path: str = "") -> str:
        port = self.services[name].port
        return f"http://{self.core.public_host}:{port}{path}"


class ConfigError(ValueError):
    pass


def _coerce(value: Any, typ: Any, where: str) -> Any:
    origin = typing.get_origin(typ)
    if origin is typing.Union or str(origin) == "types.UnionType":
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if value is None or value == "":
            return None
        typ = args[0]
    if typ is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected a boolean, got {value!r}")
    if typ is int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
    if typ is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if typ is Path:
        return Path(value).expanduser()
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return origin(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table")
        return dict(value)
    if typ is str:
        return str(value)
    return value


def _fill(obj: Any, values: dict[str, Any], section: str) -> None:
    hints = typing.get_type_hints(type(obj))
    known = {f.name for f in dataclasses.fields(obj)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"[{section}] unknown option {key!r}; known: {', '.join(sorted(known))}")
        setattr(obj, key, _coerce(value, hints[key], f"[{section}] {key}"))


def load(path: str | Path | None, sections: dict[str, type[ServiceConfig]],
         env: dict[str, str] | None = None) -> Config:
    env = dict(os.environ if env is None else env)
    data: dict[str, Any] = {}
    if path is None and env.get("NUBES_CONFIG"):
        path = env["NUBES_CONFIG"]
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text())
        except FileNotFoundError:
            raise ConfigError(f"configuration file {p} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: {exc}") from None
    for name, value in env.items():
        if not name.startswith("NUBES_") or "__" not in name:
            continue
        section, _, key = name[len("NUBES_"):].partition("__")
        data.setdefault(section.lower(), {})[key.lower()] = value
    conf = Config(path=Path(path) if path else None)
    for section in data:
        if section != "core" and section not in sections:
            raise ConfigError(f"unknown section [{section}]; known: core, {', '.join(sorted(sections))}")
    _fill(conf.core, data.get("core", {}), "core")
    _check_core(conf.core)
    _check_policy_mode(conf.core.policy_defaults, "core", allow_empty=False)
    for name, cls in sections.items():
        svc = cls()
        _fill(svc, data.get(name, {}), name)
        _check_policy_mode(svc.policy_defaults, name, allow_empty=True)
        conf.services[name] = svc
    return conf


METRICS_MODES = {"on": "on", "true": "on", "yes": "on", "1": "on",
                 "off": "off", "false": "off", "no": "off", "0": "off", "token": "token"}


def _check_core(core: CoreConfig) -> None:
    mode = METRICS_MODES.get(str(core.metrics).strip().lower())
    if mode is None:
        raise ConfigError(f'[core] metrics: expected "on", "off" or "token", got {core.metrics!r}')
    if mode == "token" and not core.metrics_token:
        raise ConfigError('[core] metrics = "token" needs [core] metrics_token (NUBES_CORE__METRICS_TOKEN), '
                          "the bearer token scrapers must send")
    core.metrics = mode


def _check_policy_mode(value: str, section: str, *, allow_empty: bool) -> None:
    if (value == "" and allow_empty) or value in POLICY_MODES:
        return
    raise ConfigError(f"[{section}] policy_defaults: expected one of {', '.join(POLICY_MODES)}, "
                      f"got {value!r}")
