#!/usr/bin/env bash
# Sets up nubes and starts the all-in-one cloud in the foreground. Extra arguments go to `nubes up`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/nubes up "$@"
