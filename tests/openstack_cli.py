"""The real `openstack` CLI, run inside the test process instead of as a new process per call.

A subprocess pays about two seconds of interpreter start-up and plugin loading for a call whose
own API requests take milliseconds. Here python-openstackclient's own entry point
(``openstackclient.shell.main``) runs with the argument vector a shell would give it: the same
argument parsing, plugins, authentication, formatters and output, with stdout, stderr and the
exit status captured. What stays loaded between calls is what the CLI itself computes once per
process (its plugin modules and entry points); every call builds a new shell, reads
``clouds.yaml`` again from the environment it is given and authenticates anew, so tests that
revoke tokens, change passwords or remove roles see what a user's next command would see.

One thing the CLI keeps that a new process would not: each API's client handle (compute,
network, placement ...) lives in a ``ClientCache`` descriptor on osc-lib's ``ClientManager``
class, so without care a second call would reuse the first call's client -- its token, user and
endpoints. The handles are dropped before every call.

Not cached on purpose: the token. The CLI can keep one across invocations only through
openstacksdk's keyring cache, which changes what a call proves (a revoked or expired token
would be reused) and costs a few milliseconds to avoid (tests use cheap bcrypt).

Calls are serialised: the CLI reads ``os.environ`` and writes to ``sys.stdout``, both global.
The binary itself is still run as a user's shell would in ``tests/e2e/test_cli_binary.py``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping

_LOCK = threading.Lock()


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """cliff configures the root logger (a console handler on stderr, levels) on every run; while
    it runs, its records go only where the CLI sends them (not to pytest's log capture)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: lg.level for name, lg in logging.Logger.manager.loggerDict.items()
              if isinstance(lg, logging.Logger)}
    root.handlers[:] = []
    try:
        yield
    finally:
        for h in root.handlers:
            if h not in handlers:
                h.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, lg in logging.Logger.manager.loggerDict.items():
            if isinstance(lg, logging.Logger):
                lg.setLevel(levels.get(name, logging.NOTSET))


def run(argv: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``openstack <argv>`` with ``env`` as its whole environment; never raises for a
    failing command (its exit status is in ``returncode``, as for a subprocess)."""
    shell = _shell()
    _forget_client_handles()
    out, err = io.StringIO(), io.StringIO()
    with _LOCK, _environment(env), _logging_restored(), _stdin(""), _argv(["openstack", *argv]), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = shell.main(list(argv))
        except SystemExit as exc:          # --help, --version and argparse errors exit
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return subprocess.CompletedProcess(["openstack", *argv], code or 0, out.getvalue(), err.getvalue())


def _shell():
    """python-openstackclient's shell module. cliff names the program (in usage lines and errors)
    after sys.argv[0] when it is first imported, so that import happens as `openstack`."""
    with _argv(["openstack"]):
        from cliff import app
        from openstackclient import shell
    assert app.App.NAME == "openstack", f"cliff was imported before the CLI runner (as {app.App.NAME})"
    return shell


def _forget_client_handles() -> None:
    from osc_lib import clientmanager

    for klass in (clientmanager.ClientManager, *clientmanager.ClientManager.__subclasses__()):
        for value in vars(klass).values():
            if isinstance(value, clientmanager.ClientCache):
                value._handle = None


@contextlib.contextmanager
def _argv(argv: list[str]) -> Iterator[None]:
    """argparse names the program after sys.argv[0] in its messages."""
    saved, sys.argv = sys.argv, argv
    try:
        yield
    finally:
        sys.argv = saved


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    """No terminal behind the CLI: a prompt reads end of file, as with ``< /dev/null``."""
    saved, sys.stdin = sys.stdin, io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved
