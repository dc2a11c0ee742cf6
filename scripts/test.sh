#!/usr/bin/env bash
# The whole test suite, from a fresh clone: make .venv, install the package with its
# test extras and the npm test tools (Prism, for the SendGrid contract test), lint,
# then run pytest. README.md and .ci/run both run exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
npm ci --no-audit --no-fund --loglevel=error
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
