#!/usr/bin/env bash
# dns-up.sh - start an authoritative DNS server (Knot DNS, Debian package knot) on
# 127.0.0.1 port 5353, UDP and TCP, serving the project's demo zones from assets/zone/:
# example.test (MX with a dead first host, SPF, DKIM, DMARC p=reject, implicit and
# null MX names), the look-alike examp1e.test, 127.in-addr.arpa (PTR for FCrDNS) and
# stubs for the parents test. and example. (so DMARC's tree walk gets NXDOMAIN).
# No systemd: knotd is started directly, its PID file kept, and dns-down.sh stops it
# by that PID. Idempotent: an instance started by this script is stopped first.
#
# Environment: DNS_PORT (5353), DNS_ZONES (the repository's assets/zone).
# Writes /var/lib/smtp-peers/dns.env: PEERS_DNS=127.0.0.1:5353 and the paths.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_TAG=dns-up
# shellcheck source=lib.sh
. "$HERE/lib.sh"
peers_need_root

PORT="${DNS_PORT:-5353}"
ZONES="${DNS_ZONES:-$(cd "$HERE/../../assets/zone" && pwd)}"
DIR="$PEERS_STATE/knot"
PIDFILE="$DIR/knot.pid"

peers_apt_install knot
"$HERE/dns-down.sh" --quiet

install -d -m 0755 "$DIR" "$DIR/zones" "$DIR/db"
# Knot reads its zones from its own folder: copies, so the repository stays as it is.
rm -f "$DIR"/zones/*.zone
cp "$ZONES"/*.zone "$DIR/zones/"
{
  cat <<EOF
# Written by dns-up.sh.
server:
    rundir: "$DIR"
    pidfile: "$PIDFILE"
    listen: 127.0.0.1@$PORT
log:
  - target: "$DIR/knot.log"
    any: info
database:
    storage: "$DIR/db"
template:
  - id: default
    storage: "$DIR/zones"
    # The zone files are the truth: never rewritten, no journal kept.
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
EOF
  for f in "$DIR"/zones/*.zone; do
    z="$(basename "$f" .zone)"
    printf '  - domain: %s\n    file: "%s"\n' "$z" "$(basename "$f")"
  done
} > "$DIR/knot.conf"

knotc -c "$DIR/knot.conf" conf-check >/dev/null || peers_die "knot.conf does not check"
: > "$DIR/knot.log"
setsid knotd -c "$DIR/knot.conf" -d </dev/null >>"$DIR/knot.log" 2>&1
for _ in $(seq 1 100); do
  [ -s "$PIDFILE" ] && break
  sleep 0.1
done
pid="$(tr -dc '0-9' 2>/dev/null < "$PIDFILE" || true)"
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then tail -n 20 "$DIR/knot.log" >&2; peers_die "knotd is not running"; fi
peers_wait_tcp 127.0.0.1 "$PORT" 20 || { tail -n 20 "$DIR/knot.log" >&2; peers_die "port $PORT not listening"; }
# Every zone loaded: knotc says so per zone.
for _ in $(seq 1 50); do
  if ! knotc -c "$DIR/knot.conf" zone-status 2>/dev/null | grep -q 'serial: -\|serial: none\|loading'; then break; fi
  sleep 0.1
done
status="$(knotc -c "$DIR/knot.conf" zone-status 2>&1 || true)"
if printf '%s\n' "$status" | grep -q 'serial: -\|serial: none'; then
  printf '%s\n' "$status" >&2; tail -n 20 "$DIR/knot.log" >&2; peers_die "a zone did not load"
fi

cat > "$PEERS_STATE/dns.env" <<EOF
# Written by dns-up.sh; source it from tests.
PEERS_DNS=127.0.0.1:$PORT
PEERS_DNS_ZONES=$DIR/zones
PEERS_DNS_PID=$pid
PEERS_DNS_LOG=$DIR/knot.log
EOF
echo "Knot DNS test peer is up (PID $pid, $(knotd --version 2>&1 | head -n 1))"
printf '%s\n' "$status" | sed 's/^/  /'
cat <<EOF
  listen:  127.0.0.1:$PORT (UDP and TCP)
  try:     dig @127.0.0.1 -p $PORT example.test MX
  log:     $DIR/knot.log
  stop:    $HERE/dns-down.sh
EOF
