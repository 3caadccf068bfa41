#!/usr/bin/env bash
# dovecot-up.sh - install (if needed), configure and start Dovecot's LMTP server as a
# loopback-only test peer.  Idempotent: an instance started by this script is stopped
# first.  No systemd, and not the Debian configuration in /etc/dovecot: Dovecot runs
# from its own file, /var/lib/smtp-peers/dovecot/dovecot.conf, started with
# `dovecot -c FILE`; dovecot-down.sh stops it by the PID it writes.
#
#   127.0.0.1:2424                      LMTP (LHLO), no TLS, no AUTH
#   /var/lib/smtp-peers/dovecot/lmtp    the same LMTP service on a UNIX socket (mode 0666)
#
# Users (passwd-file, no Unix accounts; all mail is owned by the user vmail):
#   alice@example.test  Maildir /var/mail/dovecot/alice/ (new mail in .../new/)
#   bob@example.test    Maildir /var/mail/dovecot/bob/
#   full@example.test   Maildir /var/mail/dovecot/full/, quota 1 byte: every message is
#                       refused after the data (552 5.2.2), while the others take it
#   anyone else         refused at RCPT (550 5.1.1 ... User doesn't exist)
#
# Environment: DOVECOT_PORT (2424).  Writes /var/lib/smtp-peers/dovecot.env.
# See README.md beside this script.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_TAG=dovecot-up
# shellcheck source=lib.sh
. "$HERE/lib.sh"
peers_need_root

PORT="${DOVECOT_PORT:-2424}"
DOMAIN=example.test
DIR="$PEERS_STATE/dovecot"
CONF="$DIR/dovecot.conf"
RUNDIR="$DIR/run"
SOCKET="$DIR/lmtp"
LOG="$DIR/dovecot.log"
MAILROOT=/var/mail/dovecot
MAILUSER=vmail
USERS="alice bob full"

t0=$(date +%s.%N)
peers_hosts_guard
# Debian's packages may try to start Dovecot with /etc/dovecot (where policy-rc.d allows
# it): that instance uses /run/dovecot and the standard ports, none of which this one
# uses, so the two never meet.
peers_apt_install dovecot-core dovecot-lmtpd
t_pkg=$(date +%s.%N)
"$HERE/dovecot-down.sh" --quiet

# ------------------------------------------------------------- owner + Maildirs
if ! id -u "$MAILUSER" >/dev/null 2>&1; then
  useradd -M -d "$MAILROOT" -s /usr/sbin/nologin -c "SMTP peers Dovecot mail owner" "$MAILUSER"
fi
uid="$(id -u "$MAILUSER")" gid="$(id -g "$MAILUSER")"
install -d -m 0755 "$DIR"
install -d -m 0755 -o "$MAILUSER" -g "$gid" "$MAILROOT"
for u in $USERS; do
  install -d -m 0700 -o "$MAILUSER" -g "$gid" "$MAILROOT/$u" "$MAILROOT/$u/new" "$MAILROOT/$u/cur" "$MAILROOT/$u/tmp"
done

# ------------------------------------------------------------------- users
# user:password:uid:gid:gecos:home:shell:extra userdb fields.  The passwords are never
# used (no IMAP, no AUTH); Dovecot only wants a passdb to start its auth process.
{
  echo "# Written by dovecot-up.sh."
  for u in $USERS; do
    extra=""
    [ "$u" = full ] && extra="userdb_quota_rule=*:storage=1B"
    printf '%s@%s:{PLAIN}wonderland:%s:%s::%s/%s::%s\n' "$u" "$DOMAIN" "$uid" "$gid" "$MAILROOT" "$u" "$extra"
  done
} > "$DIR/users.new"
chown root:dovecot "$DIR/users.new"
chmod 0640 "$DIR/users.new"
mv "$DIR/users.new" "$DIR/users"

# ------------------------------------------------------------------ config
cat > "$CONF.new" <<EOF
# Written by dovecot-up.sh (SMTP peers).  Overwritten on every run.  Not Debian's
# /etc/dovecot: nothing of it is read.
instance_name = smtp-peers-dovecot
base_dir = $RUNDIR
state_dir = $DIR/state
protocols = lmtp
listen = 127.0.0.1
hostname = lmtp.example.test
ssl = no
log_path = $LOG
info_log_path = $LOG
debug_log_path = $LOG
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = $uid
last_valid_uid = $uid

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $DIR/users
}
userdb {
  driver = passwd-file
  args = username_format=%Lu $DIR/users
}

mail_location = maildir:~
mail_plugins = quota

service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $PORT
  }
  unix_listener $SOCKET {
    mode = 0666
    user = root
    group = root
  }
}

protocol lmtp {
  mail_plugins = \$mail_plugins
  # Check the quota only after the data, so that one message gets a 250 for alice and
  # a 552 for full in the same transaction (the default; written down to be sure).
  lmtp_rcpt_check_quota = no
}

plugin {
  quota = maildir:User quota
  quota_rule = *:storage=0
}
EOF
mv "$CONF.new" "$CONF"
doveconf -c "$CONF" -n >/dev/null 2>"$DIR/doveconf.err" \
  || { cat "$DIR/doveconf.err" >&2; peers_die "doveconf rejects $CONF"; }
rm -f "$DIR/doveconf.err"

# ------------------------------------------------------------------- start
install -d -m 0755 "$RUNDIR" "$DIR/state"
: > "$LOG"
# Its standard streams go to the log: the daemon keeps them open, and a pipe held open
# would hang whoever reads this script's output.
dovecot -c "$CONF" </dev/null >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; peers_die "dovecot did not start"; }
for _ in $(seq 1 100); do [ -s "$RUNDIR/master.pid" ] && break; sleep 0.1; done
pid="$(tr -dc '0-9' 2>/dev/null < "$RUNDIR/master.pid" || true)"
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then tail -n 20 "$LOG" >&2; peers_die "dovecot is not running"; fi
peers_wait_tcp 127.0.0.1 "$PORT" 20 || { tail -n 20 "$LOG" >&2; peers_die "port $PORT not listening"; }
for _ in $(seq 1 100); do [ -S "$SOCKET" ] && break; sleep 0.1; done
[ -S "$SOCKET" ] || { tail -n 20 "$LOG" >&2; peers_die "no socket at $SOCKET"; }
banner="$(peers_banner 127.0.0.1 "$PORT" || true)"
case "$banner" in
  220*) ;;
  *) tail -n 20 "$LOG" >&2; peers_die "unexpected banner on $PORT: '$banner'" ;;
esac
t1=$(date +%s.%N)

cat > "$PEERS_STATE/dovecot.env" <<EOF
# Written by dovecot-up.sh; source it from tests.
PEERS_DOVECOT_LMTP_HOST=127.0.0.1
PEERS_DOVECOT_LMTP_PORT=$PORT
PEERS_DOVECOT_LMTP_SOCKET=$SOCKET
PEERS_DOVECOT_ALICE=alice@$DOMAIN
PEERS_DOVECOT_BOB=bob@$DOMAIN
PEERS_DOVECOT_FULL=full@$DOMAIN
PEERS_DOVECOT_ALICE_MAILDIR=$MAILROOT/alice
PEERS_DOVECOT_ALICE_NEW_MAIL=$MAILROOT/alice/new
PEERS_DOVECOT_BOB_MAILDIR=$MAILROOT/bob
PEERS_DOVECOT_BOB_NEW_MAIL=$MAILROOT/bob/new
PEERS_DOVECOT_FULL_MAILDIR=$MAILROOT/full
PEERS_DOVECOT_FULL_NEW_MAIL=$MAILROOT/full/new
PEERS_DOVECOT_CONF=$CONF
PEERS_DOVECOT_LOG=$LOG
PEERS_DOVECOT_PID=$pid
EOF

printf 'Dovecot %s LMTP test peer is up (master PID %s); setup took %ss, of which packages %ss\n' \
  "$(dovecot --version | cut -d' ' -f1)" "$pid" \
  "$(awk "BEGIN{printf \"%.1f\", $t1-$t0}")" "$(awk "BEGIN{printf \"%.1f\", $t_pkg-$t0}")"
cat <<EOF
  banner:      $banner
  LMTP:        127.0.0.1:$PORT and unix:$SOCKET
  recipients:  alice@$DOMAIN, bob@$DOMAIN (Maildirs in $MAILROOT/<user>/new/);
               full@$DOMAIN (quota 1 byte: 552 after the data); others 550 at RCPT
  log:         $LOG
  env file:    $PEERS_STATE/dovecot.env
  stop:        $HERE/dovecot-down.sh   (--purge also empties the Maildirs)
EOF
