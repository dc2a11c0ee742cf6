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

# Debian's packages the tests start for real, installed only when missing: Chromium
# for tests/test_email_quality.py (playwright-core drives /usr/bin/chromium; no browser
# download) and PostgreSQL's server for the second state engine (the tests run initdb
# into a temporary folder and start a throw-away server on loopback; never one they
# did not start).
missing=()
if [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
for package in fonts-liberation postgresql; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$package")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null; then
            echo "error: installing ${missing[*]} needs root or sudo" >&2
            exit 1
        fi
        sudo=sudo
    fi
    echo "installing ${missing[*]} (apt-get)..."
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
fi
# Here everything is installed: a browser or npm test that cannot run fails, never skips.
export NEWSLETTER_REQUIRE_TOOLS=1

.venv/bin/ruff check .            # lint, imports sorted, complexity (C90, at most 12)
.venv/bin/ruff format --check .
.venv/bin/mypy                    # the types of newsletter/
.venv/bin/lint-imports            # the layers (pyproject.toml [tool.importlinter])
.venv/bin/python -m pytest "$@"
