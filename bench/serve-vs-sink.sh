#!/usr/bin/env bash
# bench/serve-vs-sink.sh - messages per second that `smtp-workbench serve`
# takes from Postfix's smtp-source, beside Postfix's own smtp-sink, measured
# in the same run with the same settings, and the ratio.
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
wait_port "$SINK_PORT"; wait_port "$SERVE_PORT"

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

printf '%-34s %12s %12s %8s\n' "smtp-source setting ($MSGS msgs)" "smtp-sink/s" "serve/s" "ratio"
for setting in "-s 1 -l 1024" "-s 10 -l 1024" "-s 10 -l 1024 -d" "-s 10 -l 10240"; do
  # shellcheck disable=SC2086
  # Interleaved, so that a change in the machine's load falls on both.
  sinks=(); serves=()
  for _ in $(seq "$REPS"); do
    # shellcheck disable=SC2086
    sinks+=("$(rate "$SINK_PORT" $setting)")
    # shellcheck disable=SC2086
    serves+=("$(rate "$SERVE_PORT" $setting)")
  done
  sink=$(printf '%s\n' "${sinks[@]}" | median)
  serve=$(printf '%s\n' "${serves[@]}" | median)
  printf '%-34s %12.0f %12.0f %8.2f\n' "$setting" "$sink" "$serve" "$(echo "$serve / $sink" | bc -l)"
done
echo "machine: $(nproc) cores, $(uname -sr); median of $REPS runs each, the two servers in turn"
