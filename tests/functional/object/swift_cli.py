"""python-swiftclient's `swift` command run in the test's process, as one of the cloud's users."""

from __future__ import annotations

import contextlib
import io

from swiftclient import shell


def swift(cloud, user, *args: str) -> str:
    """``swift <args>`` with the user's Keystone v3 credentials; its output (a failure fails
    the test with what it printed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            shell.main(["swift", "--auth-version", "3", "--os-auth-url", cloud.auth_url,
                        "--os-username", user.name, "--os-password", user.password,
                        "--os-project-name", user.project_name, "--os-user-domain-name", "Default",
                        "--os-project-domain-name", "Default", *args])
        except SystemExit as exc:
            assert not exc.code, out.getvalue()
    return out.getvalue()
