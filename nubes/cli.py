"""The `nubes` command: start the cloud or one of its roles, rotate keys, manage database revisions."""

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


def prepare_state_dir(conf: Config) -> None:
    """The state directory private (0700), or tightened to it, with warnings about looser files."""
    from nubes.launcher.state import secure_state_dir

    network = conf.services.get("network")
    shared = [Path(network.agent_state_path)] if network is not None and network.agent_state_path else []
    secure_state_dir(conf.core.state_dir, shared)     # dnsmasq reads the network agents' files


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
    listening = [f"{s.name} :{conf.services[s.name].port}" for s in specs]
    listening += [f"{s.name} {x.name} :{getattr(conf.services[s.name], x.port_key)}"
                  for s in specs for x in s.extra_apis if getattr(conf.services[s.name], x.port_key)]
    _say(f"nubes: up in {time.monotonic() - started:.1f}s with " + ", ".join(listening))
    compute = conf.services.get("compute")
    if any(s.name == "compute" for s in specs) and compute is not None and compute.run_agents:
        from nubes.compute.drivers.registry import choose

        driver, why = choose(compute)
        _say(f"nubes: compute driver {driver}: {why}")
    _say(f"\nUse it:\n  export OS_CLIENT_CONFIG_FILE={clouds}\n  openstack --os-cloud nubes token issue\n"
         f"(cloud 'nubes' is the admin project; 'nubes-system' is system scope, for identity only.) "
         "Ctrl-C stops.")
    await sup.wait()
    await sup.close()
    return 0


def _run_locked(conf: Config, run, lock: str = "nubes.lock") -> int:
    """``run()`` with logging set up, the state directory made and its ``lock`` held (1 when
    another process holds it); Ctrl-C is a clean 0."""
    from nubes.core import logging as nlog
    from nubes.launcher.state import StateDirBusy, StateLock

    nlog.setup(conf.core.log_level)
    prepare_state_dir(conf)
    held = StateLock(conf.core.state_dir, lock)
    try:
        held.acquire()
    except StateDirBusy as exc:
        _say(f"nubes: {exc}")
        return 1
    try:
        return run()
    except KeyboardInterrupt:
        return 0
    finally:
        held.release()


def cmd_up(args: argparse.Namespace) -> int:
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
        if conf.services["compute"].driver == "auto":
            conf.services["compute"].driver = "fake"      # asking for fake hosts is choosing the fake driver
    return _run_locked(conf, lambda: asyncio.run(_up(conf, specs)))


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


# `nubes serve object --role ...`: a Swift cluster's two kinds of node.
OBJECT_ROLES = ("proxy", "storage")
SERVICE_ALIASES = {"object-storage": "object"}


def _object_role(conf: Config, role: str) -> None:
    """Set up the object section for one role; a ConfigError when the node cannot take it."""
    from nubes.object.proxy.cluster import PORT_KEYS
    from nubes.object.ring import RING_NAMES

    svc = conf.services["object"]
    rings = svc.rings_dir(conf.core.state_dir)
    missing = [kind for kind in RING_NAMES if not (rings / f"{kind}.ring.gz").exists()]
    if missing:
        raise ConfigError(
            f"no {', '.join(f'{k}.ring.gz' for k in missing)} in {rings}: a {role} node does not make "
            "rings; make them with `nubes ring` and copy them to every node's rings directory "
            "([object] rings), see docs/object-storage.md")
    if role == "proxy":
        for key in PORT_KEYS.values():
            setattr(svc, key, 0)         # the servers are the storage nodes'
    elif not any(int(getattr(svc, key)) for key in PORT_KEYS.values()):
        raise ConfigError("a storage node with every server's port 0 ([object] object_port, "
                          "container_port, account_port) has nothing to serve")


def cmd_serve(args: argparse.Namespace) -> int:
    from nubes.launcher.roles import controller_agents
    from nubes.launcher.state import load_secrets, write_clouds_yaml
    from nubes.launcher.workers import run_workers

    service = SERVICE_ALIASES.get(args.service, args.service)
    try:
        conf = load_config(args)
        specs = [s for s in enabled_specs(conf, "identity," + service) if s.name == service]
        if args.role and service != "object":
            raise ConfigError("--role is object storage's (nubes serve object --role proxy|storage)")
        if args.role and specs:
            _object_role(conf, args.role)
    except ConfigError as exc:
        _say(f"nubes: configuration error: {exc}")
        return 2
    if not specs:
        _say(f"nubes: unknown or disabled service {args.service!r}")
        return 2
    if args.role == "storage":
        return _serve_storage_node(conf, specs[0], args.workers)
    background = controller_agents(specs[0])
    if background and conf.core.bus_url.startswith("memory:"):
        _say(f"nubes: nubes serve {args.service} runs its API and its background work (the conductor) in "
             "separate processes, which need a shared bus: set [core] bus_url (NUBES_CORE__BUS_URL) to "
             "RabbitMQ, or run nubes up")
        return 2
    if args.no_api and not background:
        _say(f"nubes: {args.service} has no background work to run without its API")
        return 2

    def serve() -> int:
        asyncio.run(_prepare_only(conf, specs))
        secrets = load_secrets(conf.core.state_dir)
        if service == "identity":
            write_clouds_yaml(conf.core.state_dir, conf.endpoint_url("identity", "/v3"),
                              secrets["admin_password"], conf.core.region)
        port = conf.services[service].port
        what = [] if args.no_api else [f"its API on :{port} with {args.workers} worker processes"]
        what += [f"its background work ({', '.join(a.__name__ for a in background)})"] if background else []
        role = f" ({args.role})" if args.role else ""
        _say(f"nubes: serving {service}{role}: {' and '.join(what)}")
        return run_workers(conf, specs[0], args.workers, api=not args.no_api)

    return _run_locked(conf, serve, "serve-object-proxy.lock" if args.role else "nubes.lock")


def _serve_storage_node(conf: Config, spec, workers: int) -> int:
    """A storage node: its account, container and object servers in ``workers`` processes and its
    daemons in one more; no database, bus or identity."""
    from nubes.launcher.workers import run_node_servers
    from nubes.object.proxy.cluster import PORT_KEYS

    def serve() -> int:
        svc = conf.services["object"]
        ports = ", ".join(f"{kind} :{getattr(svc, key)}" for kind, key in PORT_KEYS.items()
                          if int(getattr(svc, key)))
        _say(f"nubes: serving object (storage): servers on {ports} with {workers} worker processes, "
             f"over the devices in {svc.devices_root(conf.core.state_dir)}, and the daemons")
        return run_node_servers(conf, spec, workers)

    return _run_locked(conf, serve, "serve-object-storage.lock")


def cmd_agent(args: argparse.Namespace) -> int:
    """A node's agents of one service (compute): no database, the cloud through bus and identity
    (object storage's daemons: only the node's devices and rings)."""
    from nubes.launcher.node import LOCAL_AGENTS, check_node_config, lock_name, run_node, service_password

    try:
        conf = load_config(args)
        check_node_config(conf, args.service)
        svc = conf.services[args.service]
        if args.host is not None:
            if not args.host.strip():
                raise ConfigError("--host must not be empty")
            svc.host = args.host.strip()
        if args.fake_hosts is not None:
            if args.service != "compute":
                raise ConfigError("--fake-hosts is compute's (hosts of its fake driver)")
            if args.fake_hosts < 1:
                raise ConfigError("--fake-hosts must be 1 or more")
            svc.fake_hosts = args.fake_hosts
            if svc.driver == "auto":
                svc.driver = "fake"
        if hasattr(svc, "run_agents"):
            svc.run_agents = True    # what this command is for, whatever the file says
        if args.service not in LOCAL_AGENTS:
            service_password(conf)   # refuse now rather than retry forever
    except ConfigError as exc:
        _say(f"nubes: configuration error: {exc}")
        return 2

    def run() -> int:
        reach = "no bus" if args.service in LOCAL_AGENTS else f"bus {_redacted(conf.core.bus_url)}"
        _say(f"nubes: {args.service} agents starting (state in {conf.core.state_dir}, {reach}); "
             "SIGTERM or Ctrl-C stops them")
        return asyncio.run(run_node(conf, args.service))

    return _run_locked(conf, run, lock_name(conf, args.service))


def _redacted(url: str) -> str:
    from nubes.core.bus.rabbitmq import redact_url

    return redact_url(url)


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
    serve = sub.add_parser("serve", help="run one service's API in worker processes (and, for compute, "
                                         "the conductor in one more)")
    serve.add_argument("service")
    serve.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    serve.add_argument("--no-api", action="store_true",
                       help="run only the service's background work (compute: the conductor)")
    serve.add_argument("--state-dir")
    serve.add_argument("--role", choices=OBJECT_ROLES,
                       help="object storage only: `proxy` serves the Swift and S3 API (no storage "
                            "servers), `storage` a storage node's account, container and object "
                            "servers and its daemons (no database, bus or identity); both need the "
                            "rings in [object] rings")
    serve.set_defaults(func=cmd_serve)
    agent = sub.add_parser("agent", help="run a node's agents of a service (compute) against the cloud's "
                                         "bus and identity, without a database")
    agent.add_argument("service", choices=["compute", "network", "object"])
    agent.add_argument("--host", help="the host name the agent reports (default: [compute] host, else "
                                      "this machine's name)")
    agent.add_argument("--fake-hosts", type=int, metavar="N",
                       help="with the fake driver: N hosts NAME-1..NAME-N in this process")
    agent.add_argument("--state-dir", help="where the agents keep their state (fake guests) and may find "
                                           "secrets.json")
    agent.set_defaults(func=cmd_agent)
    rot = sub.add_parser("rotate-keys", help="rotate identity's Fernet token keys")
    rot.add_argument("--state-dir")
    rot.set_defaults(func=cmd_rotate_keys)
    from nubes.compute.guest.command import add_parser as add_guest_parser   # `nubes guest build|register`

    add_guest_parser(sub, lambda a: load_config(a).core.state_dir)
    from nubes.object.ring.cli import add_parser as add_ring_parser          # `nubes ring ...`

    add_ring_parser(sub)
    rev = sub.add_parser("db-revision", help="(developers) autogenerate a migration for a service")
    rev.add_argument("service")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--url", help="sync SQLAlchemy URL of a scratch database")
    rev.set_defaults(func=cmd_db_revision)
    args = parser.parse_args(argv)
    # db-revision writes source files into the repository; ring writes builder and ring files,
    # which hold no secret and which every storage node (perhaps another user) must read.
    if args.command not in ("db-revision", "ring"):
        from nubes.launcher.state import private_umask

        private_umask()
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
