#!/usr/bin/env bash
# The whole test suite, from a fresh clone: make .venv, install the package with its
# test extras, the npm test tools (Prism for the SendGrid contract test; html-validate,
# doiuse-email and playwright-core for the email checks) and Debian's Chromium, lint,
# check types and layers, then run pytest. README.md and .ci/run both run exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
npm ci --no-audit --no-fund --loglevel=error

# Chromium for tests/test_email_quality.py: Debian's package (playwright-core drives
# /usr/bin/chromium; no browser download). Installed only when missing.
if [ ! -x /usr/bin/chromium ] || ! dpkg-query -W -f='${Status}' fonts-liberation 2>/dev/null | grep -q "ok installed"; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null; then
            echo "error: installing chromium needs root or sudo" >&2
            exit 1
        fi
        sudo=sudo
    fi
    echo "installing chromium (apt-get)..."
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends chromium fonts-liberation >/dev/null
fi
# Here everything is installed: a browser or npm test that cannot run fails, never skips.
export NEWSLETTER_REQUIRE_TOOLS=1

.venv/bin/ruff check .            # lint, imports sorted, complexity (C90, at most 12)
.venv/bin/ruff format --check .
.venv/bin/mypy                    # the types of newsletter/
.venv/bin/lint-imports            # the layers (pyproject.toml [tool.importlinter])
.venv/bin/python -m pytest "$@"
