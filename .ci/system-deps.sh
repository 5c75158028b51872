#!/usr/bin/env bash
# Debian packages the project needs (fonts for Japanese PDFs/screenshots, Chromium for browser tests,
# WeasyPrint's libraries, Redis/PostgreSQL if absent, the PC/SC stack for the My Number card tests:
# pcscd + vsmartcard-vpcd (virtual readers for the software card; tests and demo only, never on a station
# or in the Dockerfile), what pyscard needs to compile from its sdist, and gettext (makemessages and
# compilemessages for locale/; the compiled .mo is committed, so running the app does not need it).
# Installs only what is missing.
set -euo pipefail
PACKAGES=(redis-server libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-ipaexfont fonts-ipamj-mincho
          poppler-utils chromium pcscd libpcsclite1 libpcsclite-dev vsmartcard-vpcd gcc python3-dev gettext)
command -v psql >/dev/null 2>&1 || PACKAGES+=(postgresql-15)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  $SUDO apt-get update -qq && $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
}
