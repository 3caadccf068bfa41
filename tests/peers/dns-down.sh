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

peers_stop_pidfile "$PIDFILE" 'knotd' knotd
