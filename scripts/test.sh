#!/usr/bin/env bash
# Sets up nubes with its test tools and runs the whole test suite (unit, functional, databases, bus).
# Extra arguments go to pytest. Exits non-zero if any test fails or if no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
exec .venv/bin/python -m pytest -q -p no:cacheprovider --durations=20 "$@"
