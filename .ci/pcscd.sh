#!/usr/bin/env bash
# Start pcscd (with the vsmartcard-vpcd driver: readers "Virtual PCD 00 00/01", the software card connects
# on TCP 35963/35964) in foreground mode under setsid, for machines without systemd (CI, containers).
# Idempotent: does nothing when pcscd already answers on the vpcd port; the PID is kept in var/pcscd.pid.
# pcscd reads /etc/reader.conf.d/vpcd only at start-up: start it after vsmartcard-vpcd is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
listening() { (exec 3<>/dev/tcp/127.0.0.1/35963) 2>/dev/null; }
listening && exit 0
if ! command -v pcscd >/dev/null 2>&1 || [ ! -e /etc/reader.conf.d/vpcd ]; then
  echo "pcscd or vsmartcard-vpcd missing: run bash .ci/system-deps.sh" >&2
  exit 1
fi
mkdir -p var
pidfile=var/pcscd.pid
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "pcscd (pid $(cat "$pidfile")) runs but vpcd does not listen; see var/pcscd.log" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "starting pcscd"
$SUDO mkdir -p /run/pcscd
setsid $SUDO pcscd --foreground >var/pcscd.log 2>&1 < /dev/null &
echo $! >"$pidfile"
for _ in $(seq 1 50); do listening && exit 0; sleep 0.1; done
echo "pcscd did not open the vpcd ports (35963/35964); see var/pcscd.log" >&2
exit 1
