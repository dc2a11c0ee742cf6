#!/usr/bin/env bash
# The whole test suite, from a fresh clone: make .venv, install the package with its
# test extras, the npm test tools (Prism for the SendGrid contract test; html-validate,
# doiuse-email and playwright-core for the email checks), Debian's Chromium and
# PostgreSQL, lint,
# check types and layers, then run pytest. README.md and .ci/run both run exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
npm ci --no-audit --no-fund --loglevel=error

# Debian's Chromium and PostgreSQL, when they are not on the machine yet (waits for an
# apt or dpkg lock another process holds; see the script).
bash scripts/system-packages.sh
# Here everything is installed: a browser or npm test that cannot run fails, never skips.
export NEWSLETTER_REQUIRE_TOOLS=1

.venv/bin/ruff check .            # lint, imports sorted, complexity (C90, at most 12)
.venv/bin/ruff format --check .
.venv/bin/mypy                    # the types of newsletter/
.venv/bin/lint-imports            # the layers (pyproject.toml [tool.importlinter])
.venv/bin/python -m pytest "$@"
