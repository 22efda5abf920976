#!/usr/bin/env python3
"""Token issue/validate rates of nubes identity beside upstream Keystone, in one run.

Both run with the same bcrypt cost (12, Keystone's default) and the same number
of worker processes (default: cores), on SQLite, on loopback. The load comes
from ../shared/peers/load (token_bench.py: issue, validate, project list at
concurrency 1 and 16, bounded in time). Prints both tables, their ratio, and
the resident memory of an idle all-in-one `nubes up`.

    .venv/bin/python bench/identity_tokens.py [--duration 10] [--workers 2] [--skip-upstream]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import yaml

REPO = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("NUBES_PEERS", REPO.parent / "shared" / "peers"))
PY = sys.executable


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def token_bench(env_extra: dict[str, str], pids: list[int], out: Path, args) -> dict:
    env = {**os.environ, **env_extra}
    cmd = [str(PEERS / "load" / "run.sh"), "--duration", str(args.duration), "--concurrency", "1,16",
           "--phases", "issue,validate,projects", "--json", str(out), "--quiet"]
    for pid in pids:
        cmd += ["--server-pid", str(pid)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    print(res.stdout)
    if res.returncode != 0 and not out.exists():
        print(res.stderr, file=sys.stderr)
        raise RuntimeError("token_bench failed")
    return json.loads(out.read_text())


def run_nubes(args, tmp: Path) -> dict:
    state = tmp / "nubes-state"
    port = free_port()
    env = {**os.environ, "NUBES_IDENTITY__PORT": str(port),
           "NUBES_IDENTITY__PASSWORD_HASH_ROUNDS": "12", "NUBES_CORE__LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([PY, "-m", "nubes.cli", "serve", "identity", "--workers", str(args.workers),
                             "--state-dir", str(state)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "nubes.log", "w"))
    try:
        wait_http(f"http://127.0.0.1:{port}/v3", proc)
        auth = yaml.safe_load((state / "clouds.yaml").read_text())["clouds"]["nubes"]["auth"]
        return token_bench({"OS_AUTH_URL": auth["auth_url"], "OS_USERNAME": "admin",
                            "OS_PASSWORD": auth["password"], "OS_PROJECT_NAME": "admin",
                            "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"},
                           [proc.pid], tmp / "nubes.json", args)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def run_upstream(args, tmp: Path) -> dict | None:
    ks_state = Path(os.environ.get("KS_STATE", "/tmp/peer-keystone"))
    env = {**os.environ, "KS_STATE": str(ks_state), "KS_WORKERS": str(args.workers),
           "KS_HASH_ROUNDS": "12", "OS_PASSWORD": "admin-secret"}
    ks = PEERS / "keystone"
    # run.sh leaves etc/cache.conf pointing at the memcached it started and stopped; setup.sh
    # keeps an existing one, so a second run's bootstrap would fail to reach the cache.
    (ks_state / "etc" / "cache.conf").unlink(missing_ok=True)
    subprocess.run([str(ks / "setup.sh")], env=env, check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([str(ks / "run.sh")], env=env, check=True, capture_output=True, text=True).stdout
    try:
        url = re.search(r"OS_AUTH_URL=(\S+)", out).group(1)
        pid = int((ks_state / "gunicorn.pid").read_text())
        return token_bench({"OS_AUTH_URL": url, "OS_USERNAME": "admin", "OS_PASSWORD": "admin-secret",
                            "OS_PROJECT_NAME": "admin", "OS_USER_DOMAIN_NAME": "Default",
                            "OS_PROJECT_DOMAIN_NAME": "Default"}, [pid], tmp / "upstream.json", args)
    finally:
        subprocess.run([str(ks / "run.sh"), "stop"], env=env, capture_output=True)


def idle_rss(tmp: Path) -> float:
    state = tmp / "aio-state"
    env = {**os.environ, "NUBES_IDENTITY__PORT": str(free_port()), "NUBES_CORE__LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([PY, "-m", "nubes.cli", "up", "--state-dir", str(state)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{env['NUBES_IDENTITY__PORT']}/healthcheck", proc)
        time.sleep(3)
        return psutil.Process(proc.pid).memory_info().rss / 2**20
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    p.add_argument("--skip-upstream", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="nubes-bench-") as t:
        tmp = Path(t)
        print(f"== nubes identity ({args.workers} workers, bcrypt 12, SQLite)")
        ours = run_nubes(args, tmp)
        theirs = None
        if not args.skip_upstream:
            print(f"== upstream Keystone ({args.workers} gunicorn workers, bcrypt 12, SQLite, memcached)")
            theirs = run_upstream(args, tmp)
        rss = idle_rss(tmp)
    print("== side by side (req/s; p50/p99 ms)")
    print(f"{'phase':<9} {'conc':>4} {'nubes req/s':>12} {'upstream':>10} {'ratio':>7}"
          f" {'nubes p50/p99':>16} {'upstream p50/p99':>18}")
    up = {(r["phase"], r["concurrency"]): r for r in (theirs or {}).get("results", [])}
    for r in ours["results"]:
        u = up.get((r["phase"], r["concurrency"]))
        ratio = f"{r['rps'] / u['rps']:.2f}x" if u and u["rps"] else "n/a"
        urps = f"{u['rps']:.1f}" if u else "n/a"
        ulat = f"{u['p50_ms']:.1f}/{u['p99_ms']:.1f}" if u else "n/a"
        print(f"{r['phase']:<9} {r['concurrency']:>4} {r['rps']:>12.1f} {urps:>10} {ratio:>7}"
              f" {r['p50_ms']:>7.1f}/{r['p99_ms']:<8.1f} {ulat:>18}")
    print(f"idle all-in-one `nubes up` resident memory: {rss:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
