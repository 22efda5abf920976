"""Import jobs as kept with their image, and when their owner counts as gone (the lease)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

from nubes.core.db.base import utcnow
from nubes.image.service.import_jobs import PROCESS, ImportJob, owner_gone

LEASE = 60.0


def test_a_job_is_kept_and_read_back_with_its_owner():
    job = ImportJob("img", "web-download", ["a", "b"], False, uri="http://x/y")
    text = job.dump()
    kept = json.loads(text)
    assert kept["owner"] == PROCESS and kept["uri"] == "http://x/y"
    loaded, owner = ImportJob.load(text)
    assert loaded == job and owner["pid"] == PROCESS["pid"] and owner["beat"] == kept["beat"]
    assert ImportJob.load(None) is None and ImportJob.load("{}") is None and ImportJob.load("[") is None


def owner(**changes):
    return {**PROCESS, "beat": utcnow().isoformat(), **changes}


def test_this_process_and_live_processes_of_this_host_own_their_jobs():
    assert not owner_gone(owner(), LEASE)
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert not owner_gone(owner(pid=parent.pid, token="another"), LEASE)
    finally:
        parent.kill()
        parent.wait()
    assert owner_gone(owner(pid=parent.pid, token="another"), LEASE)       # it is gone now


def test_a_job_not_refreshed_for_the_lease_or_of_an_earlier_run_of_this_pid_is_nobodys():
    stale = (utcnow() - timedelta(seconds=LEASE + 1)).isoformat()
    assert owner_gone(owner(beat=stale), LEASE)
    assert owner_gone(owner(token="an-earlier-process-with-our-pid"), LEASE)
    assert owner_gone(owner(beat="not a time"), LEASE)
    # another host's live job: only its lease says
    assert not owner_gone(owner(host="elsewhere", pid=1, token="x"), LEASE)
    assert owner_gone(owner(host="elsewhere", pid=1, token="x", beat=stale), LEASE)
