#!/usr/bin/env bash
# dns-down.sh - stop the Knot DNS peer started by dns-up.sh, by the PID it recorded
# (and only if that PID still runs knotd).
#   dns-down.sh [--quiet]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_TAG=dns-down
# shellcheck source=lib.sh
. "$HERE/lib.sh"
peers_need_root

PIDFILE="$PEERS_STATE/knot/knot.pid"
quiet=no
for a in "$@"; do
  case "$a" in
    --quiet) quiet=yes ;;
    *) peers_die "unknown argument: $a" ;;
  esac
done
say() { [ "$quiet" = yes ] || echo "$@"; }

pid="$(tr -dc '0-9' 2>/dev/null < "$PIDFILE" || true)"
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
   && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'knotd'; then
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  say "knotd stopped (PID $pid)"
else
  say "knotd was not running"
fi
rm -f "$PIDFILE"
