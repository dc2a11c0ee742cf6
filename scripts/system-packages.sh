#!/usr/bin/env bash
# Debian's packages the tests start for real, installed only when missing: Chromium for
# the browser tests (playwright-core drives /usr/bin/chromium; no browser download),
# its Liberation fonts, and PostgreSQL's server for the second state engine (the tests
# run initdb into a temporary folder and start a throw-away server on loopback; never
# one they did not start). scripts/test.sh runs this; tests/test_system_packages.py
# runs it against stand-in apt-get and dpkg commands.
#
# What is on the machine already is looked for itself, not by its package: a machine
# with Chromium, the fonts and an initdb never runs apt at all. When apt is needed and
# another apt or dpkg holds its lock (unattended-upgrades on a fresh machine), this
# waits for it, up to NEWSLETTER_APT_WAIT seconds (300), instead of failing at once.
set -euo pipefail

chromium="${NEWSLETTER_CHROMIUM:-/usr/bin/chromium}"
wait_for="${NEWSLETTER_APT_WAIT:-300}"
pause="${NEWSLETTER_APT_PAUSE:-5}"

has_initdb() {
    local bindir
    bindir="$(pg_config --bindir 2>/dev/null || true)"
    if [ -n "$bindir" ] && [ -x "$bindir/initdb" ]; then return 0; fi
    compgen -G "${NEWSLETTER_PG_GLOB:-/usr/lib/postgresql/*/bin/initdb}" >/dev/null
}

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

missing=()
if [ ! -x "$chromium" ]; then missing+=(chromium); fi
if ! installed fonts-liberation; then missing+=(fonts-liberation); fi
if ! has_initdb; then missing+=(postgresql); fi
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
        echo "error: installing ${missing[*]} needs root or sudo" >&2
        exit 1
    fi
    sudo=sudo
fi

# Runs apt-get; while another process holds the apt or dpkg lock, waits and tries again.
apt() {
    local deadline=$((SECONDS + wait_for)) said="" out
    while true; do
        if out="$($sudo env DEBIAN_FRONTEND=noninteractive apt-get \
            -o DPkg::Lock::Timeout="$wait_for" "$@" 2>&1)"; then
            return 0
        fi
        if ! grep -qiE "could not get lock|unable to acquire|unable to lock" <<<"$out" \
            || [ "$SECONDS" -ge "$deadline" ]; then
            printf '%s\n' "$out" >&2
            if [ -n "$said" ]; then
                echo "error: apt-get $1 still could not get its lock after ${wait_for}s" >&2
            fi
            return 1
        fi
        if [ -z "$said" ]; then
            echo "another apt or dpkg holds its lock; waiting for it (up to ${wait_for}s)..."
            said=yes
        fi
        sleep "$pause"
    done
}

echo "installing ${missing[*]} (apt-get)..."
apt update -qq
apt install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
