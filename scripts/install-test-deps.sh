#!/usr/bin/env bash
# Install the real servers and drivers the LDAP and SCCM tests run against (Debian/Ubuntu):
#   slapd + ldap-utils         OpenLDAP server binary and schema files (tests start their own slapd)
#   unixodbc + odbc-postgresql the ODBC driver manager and PostgreSQL's ODBC driver (pyodbc uses them)
#   libldap-common             the core/cosine/inetorgperson schema files under /etc/ldap/schema
#   docker-compose             validates docker-compose.airflow.yml without a Docker engine
#   chromium                   the browser tests of the Airflow UI pages (headless)
# Idempotent and non-interactive; a fast no-op when everything is installed already.
# The system slapd service is neither configured nor started: debconf is told to skip the
# configuration, and a temporary policy-rc.d forbids starting services during the install.
# The PostgreSQL server itself is not installed here (the SCCM tests use the one on 127.0.0.1:5432).
set -euo pipefail

PACKAGES=(slapd ldap-utils libldap-common unixodbc odbc-postgresql docker-compose chromium)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-test-deps: all installed (${PACKAGES[*]})"
    exit 0
fi

if ! command -v apt-get >/dev/null; then
    echo "install-test-deps: apt-get not found; install ${missing[*]} by hand" >&2
    exit 1
fi
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-test-deps: run as root or install sudo" >&2; exit 1; }
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

# Forbid service starts during the install, unless a policy is already in place (containers).
POLICY=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e $POLICY ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    added_policy=1
fi
cleanup() { if [[ $added_policy -eq 1 ]]; then "${SUDO[@]}" rm -f "$POLICY"; fi; }
trap cleanup EXIT

# slapd's postinst: no initial directory, so nothing to configure or start.
printf 'slapd slapd/no_configuration boolean true\n' | "${SUDO[@]}" debconf-set-selections

# apt-get update only when the package lists are missing or cannot offer a missing package.
if ! apt-cache show "${missing[@]}" >/dev/null 2>&1 || [[ -z $(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial) ]]; then
    "${SUDO[@]}" apt-get update -qq
fi
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"

# Belt and braces: if a service manager started slapd anyway, stop it and keep it off.
if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    "${SUDO[@]}" systemctl disable --now slapd >/dev/null 2>&1 || true
elif command -v service >/dev/null && pgrep -x slapd >/dev/null 2>&1; then
    "${SUDO[@]}" service slapd stop >/dev/null 2>&1 || true
fi
echo "install-test-deps: installed ${missing[*]}"
odbcinst -q -d || true
