#!/usr/bin/env bash
# bench/clients.sh - smtp-workbench as a client beside the peers, measured in
# the same run against the same server (Postfix's smtp-sink on loopback):
#   1. one whole transaction: `send` against swaks (wall time, median of REPS)
#   2. load: `send --count N --concurrency C` against smtp-source (messages/s)
#
#   bash bench/clients.sh                 # REPS=10, N=2000, C=10
#
# With POSTFIX=HOST:PORT (and POSTFIX_RCPT, a recipient it accepts) the load
# comparison is also run against that real Postfix, N=POSTFIX_N (500) each.
#
# Needs swaks, smtp-source and smtp-sink (Debian: swaks, postfix). The sink
# started here listens on 127.0.0.1 and is stopped by its PID; every run is
# bounded by `timeout`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
REPS="${REPS:-10}"
N="${N:-2000}"
C="${C:-10}"
PORT="${SINK_PORT:-2628}"
for t in swaks smtp-source smtp-sink bc; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "needs $t" >&2; exit 2; }
done
SOURCE="$(command -v smtp-source || echo /usr/sbin/smtp-source)"
SINK="$(command -v smtp-sink || echo /usr/sbin/smtp-sink)"

cargo build --release --quiet
BIN="$here/target/release/smtp-workbench"

uopt=()
[ "$(id -u)" = 0 ] && uopt=(-u postfix)
"$SINK" "${uopt[@]}" -h sink.example.test "127.0.0.1:$PORT" 1000 >/dev/null 2>&1 &
sink=$!
trap 'kill -TERM $sink 2>/dev/null || true; wait $sink 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Mean wall time of one run over REPS runs in a row, in one bounded shell,
# so that the timing's own overhead (date, bc) is paid once, not per run.
per_run() {
  local t0 t1; t0=$(now)
  timeout 120 bash -c "for i in \$(seq $REPS); do $* >/dev/null || exit 1; done"
  t1=$(now); echo "($t1 - $t0) / $REPS" | bc -l
}
send_cmd="$BIN send --server 127.0.0.1:$PORT --ehlo bench.example.test --mail-from bench@example.test --rcpt sink@example.test"
swaks_cmd="swaks --server 127.0.0.1 --port $PORT --ehlo bench.example.test --from bench@example.test --to sink@example.test"
send_t=$(for _ in 1 2 3; do per_run "$send_cmd"; done | median)
swaks_t=$(for _ in 1 2 3; do per_run "$swaks_cmd"; done | median)
printf '%-44s %10s %10s %8s\n' "measure" "workbench" "peer" "ratio"
printf '%-44s %8.1f ms %8.1f ms %8.3f\n' "one transaction: send vs swaks (wall, mean)" \
  "$(echo "$send_t * 1000" | bc -l)" "$(echo "$swaks_t * 1000" | bc -l)" "$(echo "$send_t / $swaks_t" | bc -l)"

# load_rate / source_rate SERVER RCPT COUNT -> messages per second of one run
load_rate() {
  local t0 t1; t0=$(now)
  timeout 120 "$BIN" send --server "$1" --ehlo bench.example.test \
    --mail-from bench@example.test --rcpt "$2" --count "$3" --concurrency "$C" >/dev/null
  t1=$(now); echo "$3 / ($t1 - $t0)" | bc -l
}
source_rate() {
  local t0 t1; t0=$(now)
  timeout 120 "$SOURCE" -M bench.example.test -f bench@example.test -t "$2" \
    -l 300 -m "$3" -s "$C" "$1" >/dev/null
  t1=$(now); echo "$3 / ($t1 - $t0)" | bc -l
}
# compare LABEL SERVER RCPT COUNT: both clients, median of 3 runs each, in turn
compare() {
  local loads=() srcs=() load src
  for _ in 1 2 3; do
    loads+=("$(load_rate "$2" "$3" "$4")")
    srcs+=("$(source_rate "$2" "$3" "$4")")
  done
  load=$(printf '%s\n' "${loads[@]}" | median)
  src=$(printf '%s\n' "${srcs[@]}" | median)
  printf '%-44s %8.0f/s %8.0f/s %8.2f\n' "$1" "$load" "$src" "$(echo "$load / $src" | bc -l)"
}
compare "load: send --count $N --concurrency $C vs smtp-source -s $C" \
  "127.0.0.1:$PORT" sink@example.test "$N"
if [ -n "${POSTFIX:-}" ]; then
  compare "load into Postfix: send vs smtp-source -s $C" \
    "$POSTFIX" "${POSTFIX_RCPT:?POSTFIX_RCPT: a recipient the Postfix accepts}" "${POSTFIX_N:-500}"
fi
echo "machine: $(nproc) cores, $(uname -sr); one transaction: mean of $REPS runs, median of 3 such; load: median of 3, the clients in turn"
