#!/usr/bin/env bash
# Sets up nubes with its test tools and runs the whole test suite (unit, functional, databases, bus,
# root-only data plane and real instances) in parallel workers; prints the slowest tests and the total.
# Extra arguments go to pytest (e.g. `scripts/test.sh tests/unit`, `scripts/test.sh -n 0` for one
# process). Exits non-zero if any test fails or if no test ran (pytest's status 5).
# NUBES_TEST_WORKERS sets the number of workers (default: see docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
workers="${NUBES_TEST_WORKERS:-$(( $(nproc) + 2 ))}"
start=$(date +%s)
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider -n "$workers" --durations=10 "$@" || status=$?
echo "test.sh: pytest exited with status $status after $(( $(date +%s) - start )) s on $workers workers"
exit "$status"
