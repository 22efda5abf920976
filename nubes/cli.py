"""The `nubes` command: start the cloud, rotate keys, manage database revisions."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from nubes.core.config import Config, ConfigError, load


def _say(msg: str) -> None:
    print(msg, flush=True)


def load_config(args: argparse.Namespace) -> Config:
    from nubes.services import all_specs

    specs = all_specs()
    conf = load(args.config, {s.name: s.conf_class for s in specs})
    if getattr(args, "state_dir", None):
        conf.core.state_dir = Path(args.state_dir).expanduser().resolve()
    for spec in specs:
        if not conf.services[spec.name].port:
            conf.services[spec.name].port = spec.default_port
    return conf


def enabled_specs(conf: Config, only: str | None):
    from nubes.services import all_specs

    wanted = {s.strip() for s in only.split(",")} if only else None
    specs = [s for s in all_specs() if conf.services[s.name].enabled
             and (wanted is None or s.name in wanted)]
    if not any(s.name == "identity" for s in specs):
        raise ConfigError("identity must run: every other service authenticates through it")
    return specs


def catalog_for(conf: Config, specs) -> tuple:
    from nubes.identity.service.bootstrap import CatalogService

    out = []
    for spec in specs:
        for entry in spec.catalog:
            url = conf.endpoint_url(spec.name, entry.path)
            out.append(CatalogService(entry.service_type, entry.name, entry.description,
                                      {"public": url, "internal": url, "admin": url}))
    return tuple(out)


async def _up(conf: Config, specs) -> int:
    from nubes.identity.service.bootstrap import BootstrapSpec, bootstrap
    from nubes.launcher.state import load_secrets, write_clouds_yaml
    from nubes.launcher.supervisor import Supervisor

    started = time.monotonic()
    secrets = load_secrets(conf.core.state_dir)
    conf.core.service_password = conf.core.service_password or secrets["service_password"]
    sup = Supervisor(conf, specs)
    _say(f"nubes: preparing databases in {conf.core.state_dir} ...")
    try:
        await sup.prepare()
        _say("nubes: bootstrapping identity (admin, roles, catalog) ...")
        await bootstrap(sup.runtimes["identity"].db, BootstrapSpec(
            admin_password=secrets["admin_password"], service_password=conf.core.service_password,
            region=conf.core.region, service_user=conf.core.service_user,
            service_project=conf.core.service_project, services=catalog_for(conf, specs)),
            conf.services["identity"].password_hash_rounds)
        await sup.start()
    except Exception as exc:
        _say(f"nubes: failed to start: {exc}")
        await sup.close()
        return 1
    auth_url = conf.endpoint_url("identity", "/v3")
    clouds = write_clouds_yaml(conf.core.state_dir, auth_url, secrets["admin_password"], conf.core.region)
    _say(f"nubes: up in {time.monotonic() - started:.1f}s with " +
         ", ".join(f"{s.name} :{conf.services[s.name].port}" for s in specs))
    _say(f"\nUse it:\n  export OS_CLIENT_CONFIG_FILE={clouds}\n  openstack --os-cloud nubes token issue\n"
         f"(cloud 'nubes' is the admin project; 'nubes-system' is system scope.) Ctrl-C stops.")
    await sup.wait()
    await sup.close()
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from nubes.core import logging as nlog
    from nubes.launcher.state import StateDirBusy, StateLock

    try:
        conf = load_config(args)
        specs = enabled_specs(conf, args.services)
    except ConfigError as exc:
        _say(f"nubes: configuration error: {exc}")
        return 2
    if args.fake_hosts is not None:
        if args.fake_hosts < 0:
            _say("nubes: --fake-hosts must be 0 or more")
            return 2
        conf.services["compute"].fake_hosts = args.fake_hosts
    nlog.setup(conf.core.log_level)
    lock = StateLock(conf.core.state_dir)
    try:
        lock.acquire()
    except StateDirBusy as exc:
        _say(f"nubes: {exc}")
        return 1
    try:
        return asyncio.run(_up(conf, specs))
    except KeyboardInterrupt:
        return 0
    finally:
        lock.release()


async def _prepare_only(conf: Config, specs) -> None:
    """Migrate and bootstrap, then let go of every connection (before forking workers)."""
    from nubes.identity.service.bootstrap import BootstrapSpec, bootstrap
    from nubes.launcher.state import load_secrets
    from nubes.launcher.supervisor import prepare_database

    secrets = load_secrets(conf.core.state_dir)
    conf.core.service_password = conf.core.service_password or secrets["service_password"]
    for spec in specs:
        db = await prepare_database(conf, spec)
        if spec.name == "identity":
            await bootstrap(db, BootstrapSpec(
                admin_password=secrets["admin_password"], service_password=conf.core.service_password,
                region=conf.core.region, service_user=conf.core.service_user,
                service_project=conf.core.service_project, services=catalog_for(conf, specs)),
                conf.services["identity"].password_hash_rounds)
        await db.close()


def cmd_serve(args: argparse.Namespace) -> int:
    from nubes.core import logging as nlog
    from nubes.launcher.state import StateDirBusy, StateLock, load_secrets, write_clouds_yaml
    from nubes.launcher.workers import run_workers

    try:
        conf = load_config(args)
        specs = [s for s in enabled_specs(conf, "identity," + args.service) if s.name == args.service]
    except ConfigError as exc:
        _say(f"nubes: configuration error: {exc}")
        return 2
    if not specs:
        _say(f"nubes: unknown or disabled service {args.service!r}")
        return 2
    nlog.setup(conf.core.log_level)
    lock = StateLock(conf.core.state_dir)
    try:
        lock.acquire()
    except StateDirBusy as exc:
        _say(f"nubes: {exc}")
        return 1
    try:
        asyncio.run(_prepare_only(conf, specs))
        secrets = load_secrets(conf.core.state_dir)
        if args.service == "identity":
            write_clouds_yaml(conf.core.state_dir, conf.endpoint_url("identity", "/v3"),
                              secrets["admin_password"], conf.core.region)
        _say(f"nubes: serving {args.service} on :{conf.services[args.service].port} "
             f"with {args.workers} worker processes")
        return run_workers(conf, specs[0], args.workers)
    finally:
        lock.release()


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    from nubes.identity.service.fernet_keys import KeyRepository

    conf = load_config(args)
    ident = conf.services["identity"]
    path = Path(ident.key_repository) if ident.key_repository else conf.core.state_dir / "fernet-keys"
    repo = KeyRepository(path, ident.max_active_keys)
    repo.initialize()
    primary = repo.rotate()
    _say(f"nubes: rotated Fernet keys in {path}; primary key is now {primary}. "
         "Tokens made with retired keys no longer validate; others keep working.")
    return 0


def cmd_db_revision(args: argparse.Namespace) -> int:
    from nubes.core.db.migrate import revision

    url = args.url or f"sqlite:///{Path(os.environ.get('TMPDIR', '/tmp')) / f'nubes-rev-{args.service}.sqlite'}"
    revision(args.service, args.message, url)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nubes", description="An OpenStack-compatible cloud.")
    parser.add_argument("--config", help="nubes.toml (default: none; NUBES_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the all-in-one cloud in this process")
    up.add_argument("--state-dir", help="where data, keys and clouds.yaml live")
    up.add_argument("--services", help="comma-separated subset of services to run")
    up.add_argument("--fake-hosts", type=int, metavar="N",
                    help="compute hosts with the fake driver to run in-process (the compute fake_hosts)")
    up.set_defaults(func=cmd_up)
    serve = sub.add_parser("serve", help="run one service's API in worker processes")
    serve.add_argument("service")
    serve.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    serve.add_argument("--state-dir")
    serve.set_defaults(func=cmd_serve)
    rot = sub.add_parser("rotate-keys", help="rotate identity's Fernet token keys")
    rot.add_argument("--state-dir")
    rot.set_defaults(func=cmd_rotate_keys)
    rev = sub.add_parser("db-revision", help="(developers) autogenerate a migration for a service")
    rev.add_argument("service")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--url", help="sync SQLAlchemy URL of a scratch database")
    rev.set_defaults(func=cmd_db_revision)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
