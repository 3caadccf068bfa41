#!/usr/bin/env bash
# dovecot-down.sh - stop the Dovecot LMTP peer started by dovecot-up.sh, by the PID in
# its own base_dir (and only if that PID still runs dovecot with the peer's config).
#   dovecot-down.sh [--purge] [--quiet]   --purge also empties the test Maildirs
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_TAG=dovecot-down
# shellcheck source=lib.sh
. "$HERE/lib.sh"
peers_need_root

DIR="$PEERS_STATE/dovecot"
MAILROOT=/var/mail/dovecot
purge=no quiet=no
for a in "$@"; do
  case "$a" in
    --purge) purge=yes ;;
    --quiet) quiet=yes ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) peers_die "unknown argument: $a" ;;
  esac
done

# TERM to the master stops all of Dovecot's processes.  It leaves the listener at the
# absolute path behind: removed here once the master is gone, so that a missing socket
# means a stopped peer.
peers_stop_pidfile "$DIR/run/master.pid" "dovecot.*-c $DIR/dovecot.conf" dovecot
if [ -S "$DIR/lmtp" ] && [ ! -s "$DIR/run/master.pid" ]; then rm -f "$DIR/lmtp"; fi
if [ "$purge" = yes ]; then
  for u in alice bob full; do
    for d in new cur tmp; do
      [ -d "$MAILROOT/$u/$d" ] && find "$MAILROOT/$u/$d" -mindepth 1 -type f -delete
    done
    rm -f "$MAILROOT/$u/maildirsize"
  done
  [ "$quiet" = yes ] || echo "purged: $MAILROOT/{alice,bob,full}"
fi
