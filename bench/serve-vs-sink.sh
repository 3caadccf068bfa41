#!/usr/bin/env bash
# bench/serve-vs-sink.sh - messages per second that `smtp-workbench serve`
# takes from Postfix's smtp-source, beside Postfix's own smtp-sink, measured
# in the same run with the same settings, and the ratio. `serve` runs twice:
# as it starts by default (each message judged: DKIM and DMARC per message,
# SPF and iprev once per distinct client, HELO name and sender,
# against its offline demo zone, Authentication-Results added) and bare
# (--no-auth-results). The last setting sends a DKIM-signed message (signed
# here with the demo key by `send`), so that RSA verification is counted.
#
#   bash bench/serve-vs-sink.sh            # 3 runs per setting, median shown
#   REPS=5 MSGS=5000 bash bench/serve-vs-sink.sh
#
# Needs smtp-source and smtp-sink (Debian's postfix package). Everything
# listens on 127.0.0.1; both servers are started here and stopped by PID;
# every smtp-source run is bounded by `timeout 120`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
REPS="${REPS:-3}"
MSGS="${MSGS:-2000}"
SINK_PORT="${SINK_PORT:-2626}"
SERVE_PORT="${SERVE_PORT:-2627}"
BARE_PORT="${BARE_PORT:-2628}"
SOURCE="$(command -v smtp-source || echo /usr/sbin/smtp-source)"
SINK="$(command -v smtp-sink || echo /usr/sbin/smtp-sink)"
[ -x "$SOURCE" ] && [ -x "$SINK" ] || { echo "needs smtp-source and smtp-sink (apt-get install postfix)" >&2; exit 2; }

cargo build --release --quiet
BIN="$here/target/release/smtp-workbench"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on 127.0.0.1:$1" >&2; exit 1
}

uopt=()
[ "$(id -u)" = 0 ] && uopt=(-u postfix)
"$SINK" "${uopt[@]}" -h sink.example.test "127.0.0.1:$SINK_PORT" 1000 >/dev/null 2>&1 &
pids+=($!)
"$BIN" serve --listen "127.0.0.1:$SERVE_PORT" --store-messages 1000 --no-tls >/dev/null &
pids+=($!)
"$BIN" serve --listen "127.0.0.1:$BARE_PORT" --store-messages 1000 --no-tls --no-auth-results >/dev/null &
pids+=($!)
wait_port "$SINK_PORT"; wait_port "$SERVE_PORT"; wait_port "$BARE_PORT"

# A message signed with the demo key (d=client.example, s=demo), as
# smtp-source -F wants it: header and body with LF line ends. It is taken
# from the Maildir of a `serve` started for this alone, below what that
# server added (Return-Path, Authentication-Results, Received).
work="$(mktemp -d)"
trap 'cleanup; rm -rf "$work"' EXIT
"$BIN" serve --listen 127.0.0.1:0 --no-tls --maildir "$work/Maildir" >"$work/log" &
one=$!
for _ in $(seq 1 100); do grep -q listening "$work/log" && break; sleep 0.1; done
one_addr="$(grep -m1 listening "$work/log" | awk '{print $NF}')"
"$BIN" send --server "$one_addr" --tls none --ehlo client.example \
  --mail-from student@client.example --rcpt sink@example.test --subject "bench" \
  --body "$(printf 'a line of the body, signed.%.0s\n' $(seq 1 30))" \
  --dkim-key assets/dkim/demo.key --dkim-selector demo >/dev/null
kill -TERM "$one"; wait "$one" 2>/dev/null || true
sed -n '/^DKIM-Signature:/,$p' "$work"/Maildir/new/* | tr -d '\r' >"$work/signed.eml"

# rate PORT ARGS... -> messages per second of one smtp-source run
rate() {
  local port="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  timeout 120 "$SOURCE" -M bench.example.test -f bench@example.test -t sink@example.test \
    -m "$MSGS" "$@" "127.0.0.1:$port" >/dev/null
  t1=$(date +%s.%N)
  echo "$MSGS / ($t1 - $t0)" | bc -l
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-34s %11s %11s %6s %11s %6s\n' "smtp-source setting ($MSGS msgs)" \
  "smtp-sink/s" "judging/s" "ratio" "bare/s" "ratio"
for setting in "-s 1 -l 1024" "-s 10 -l 1024" "-s 10 -l 1024 -d" "-s 10 -l 10240" \
  "-s 10 -F $work/signed.eml"; do
  # Interleaved, so that a change in the machine's load falls on all three.
  sinks=(); serves=(); bares=()
  for _ in $(seq "$REPS"); do
    # shellcheck disable=SC2086
    sinks+=("$(rate "$SINK_PORT" $setting)")
    # shellcheck disable=SC2086
    serves+=("$(rate "$SERVE_PORT" $setting)")
    # shellcheck disable=SC2086
    bares+=("$(rate "$BARE_PORT" $setting)")
  done
  sink=$(printf '%s\n' "${sinks[@]}" | median)
  serve=$(printf '%s\n' "${serves[@]}" | median)
  bare=$(printf '%s\n' "${bares[@]}" | median)
  printf '%-34s %11.0f %11.0f %6.2f %11.0f %6.2f\n' "${setting/$work\//}" "$sink" "$serve" \
    "$(echo "$serve / $sink" | bc -l)" "$bare" "$(echo "$bare / $sink" | bc -l)"
done
echo "machine: $(nproc) cores, $(uname -sr); median of $REPS runs each, the three servers in turn"
echo "judging: serve as it starts (SPF, DKIM, DMARC, iprev against its demo zone); bare: --no-auth-results"
