#!/usr/bin/env bash
# dovecot-check.sh - end-to-end check of the Dovecot LMTP peer started by dovecot-up.sh,
# with swaks (--protocol LMTP, over TCP and over the UNIX socket) and raw LMTP over bash
# /dev/tcp.  Every connection goes to 127.0.0.1 or the peer's socket.  Prints one
# PASS/FAIL line per case and ends with "dovecot-check: N passed, N failed"; exit
# status 0 only if all passed.
#   PEERS_CHECK_VERBOSE=1  also print every transcript
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_TAG=dovecot-check
# shellcheck source=lib.sh
. "$HERE/lib.sh"
peers_need_root
[ -r "$PEERS_STATE/dovecot.env" ] || peers_die "$PEERS_STATE/dovecot.env missing: run dovecot-up.sh first"
# shellcheck disable=SC1091
. "$PEERS_STATE/dovecot.env"

H=$PEERS_DOVECOT_LMTP_HOST
P=$PEERS_DOVECOT_LMTP_PORT
SOCK=$PEERS_DOVECOT_LMTP_SOCKET
NEW=$PEERS_DOVECOT_ALICE_NEW_MAIL
# shellcheck source=check-lib.sh
. "$HERE/check-lib.sh"

# case_true NAME DETAIL CMD... : PASS when CMD succeeds.
case_true() {
  local name="$1" detail="$2"; shift 2
  if "$@"; then ok "$name" "$detail"; else bad "$name" "not so: $detail"; fi
}
# no_file_with DIR TOKEN : no message in DIR contains TOKEN (looked at after 1 s).
no_file_with() {
  sleep 1
  ! grep -lqF -- "$2" "$1"/* 2>/dev/null
}

LMTP=(--protocol LMTP --port "$P")

# --- the banner and LHLO, raw --------------------------------------------------------------
case_chat banner-2424 '^<- 220 lmtp\.example\.test Dovecot \(Debian\) ready\.' "$P" <<'END'
QUIT
END
case_chat lhlo-2424 '^<- 250 PIPELINING' "$P" <<'END'
LHLO client.example.test
QUIT
END
case_chat ehlo-refused-2424 '^<- 500 5\.5\.1 Unknown command' "$P" <<'END'
EHLO client.example.test
QUIT
END

# --- one transaction, four recipients: per-recipient replies after the data -------------
name=per-rcpt-2424
token="peers-check $name $RUN"
sw "${LMTP[@]}" --to "$PEERS_DOVECOT_ALICE,$PEERS_DOVECOT_FULL,$PEERS_DOVECOT_BOB,nobody@example.test" \
   --header "Subject: $token" > "$LOGDIR/$name.log" 2>&1
[ "${PEERS_CHECK_VERBOSE:-0}" = 1 ] && sed 's/^/      | /' "$LOGDIR/$name.log"
want=(
  "^<\*\* 550 5\.1\.1 <nobody@example\.test> User doesn't exist: nobody@example\.test\$"
  '^<-  250 2\.0\.0 <alice@example\.test> [^ ]+ Saved$'
  '^<\*\* 552 5\.2\.2 <full@example\.test> Quota exceeded \(mailbox for user is full\)$'
  '^<-  250 2\.0\.0 <bob@example\.test> [^ ]+ Saved$'
)
i=0
for w in "${want[@]}"; do
  i=$((i + 1))
  if line="$(grep -E -m1 -- "$w" "$LOGDIR/$name.log")"; then
    ok "$name-$i" "${line#<[-*][-* ] }"
  else
    bad "$name-$i" "expected /$w/"
  fi
done
# The replies after the data come in RCPT order: alice, full, bob.
order="$(grep -E '^<(-|\*\*) +(250 2\.0\.0|552 5\.2\.2) <' "$LOGDIR/$name.log" \
         | grep -oE '<[a-z]+@example\.test>' | tr -d '\n')"
case_true "$name-order" "replies after the data: $order" \
  [ "$order" = '<alice@example.test><full@example.test><bob@example.test>' ]
case_true delivered-alice "in $PEERS_DOVECOT_ALICE_NEW_MAIL" wait_delivered "$token"
NEW=$PEERS_DOVECOT_BOB_NEW_MAIL
case_true delivered-bob "in $PEERS_DOVECOT_BOB_NEW_MAIL" wait_delivered "$token"
case_true not-delivered-full "nothing in $PEERS_DOVECOT_FULL_NEW_MAIL" \
  no_file_with "$PEERS_DOVECOT_FULL_NEW_MAIL" "$token"

# --- the UNIX socket ---------------------------------------------------------------------
name=socket-bob
token="peers-check $name $RUN"
swaks --protocol LMTP --socket "$SOCK" --ehlo client.example.test --from tester@client.example.test \
      --timeout 20 --to "$PEERS_DOVECOT_BOB" --header "Subject: $token" > "$LOGDIR/$name.log" 2>&1
[ "${PEERS_CHECK_VERBOSE:-0}" = 1 ] && sed 's/^/      | /' "$LOGDIR/$name.log"
if line="$(grep -E -m1 '^<-  250 2\.0\.0 <bob@example\.test> [^ ]+ Saved$' "$LOGDIR/$name.log")"; then
  if wait_delivered "$token"; then ok "$name" "${line#<-  }; delivered"; else bad "$name" "accepted but not in $NEW"; fi
else
  bad "$name" "expected 250 2.0.0 <bob@example.test> ... Saved"
fi
case_true socket-mode "$(stat -c '%A' "$SOCK" 2>/dev/null) $SOCK" test -S "$SOCK" -a -w "$SOCK"

# --- full@ alone, a name that does not exist, alice alone ------------------------------
NEW=$PEERS_DOVECOT_ALICE_NEW_MAIL
case_swaks full-only-2424 '^<\*\* 552 5\.2\.2 <full@example\.test> Quota exceeded' nodeliver -- "${LMTP[@]}" --to "$PEERS_DOVECOT_FULL"
case_swaks unknown-2424 "^<\*\* 550 5\.1\.1 <someone@elsewhere\.example> User doesn't exist" nodeliver -- "${LMTP[@]}" --to someone@elsewhere.example
case_swaks alice-2424 '^<-  250 2\.0\.0 <alice@example\.test> [^ ]+ Saved' deliver -- "${LMTP[@]}" --to "$PEERS_DOVECOT_ALICE"

check_summary dovecot-check
