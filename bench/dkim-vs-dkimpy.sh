#!/usr/bin/env bash
# dkim-vs-dkimpy.sh - DKIM sign and verify per message, ours against dkimpy on the
# same messages (2 KB and 100 KB) and keys (RSA-2048, ed25519), in the same run;
# prints µs per message and the ratio dkimpy / ours. See benches/dkim.rs.
#
# dkimpy comes from tests/peers/dkimpy-up.sh (run it as root first); its env file
# is read from $PEERS_STATE (/var/lib/smtp-peers). DKIM_BENCH_N sets the iterations.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
env_file="${PEERS_STATE:-/var/lib/smtp-peers}/dkimpy.env"
[ -r "$env_file" ] || { echo "no $env_file: run tests/peers/dkimpy-up.sh first" >&2; exit 1; }
set -a
# shellcheck source=/dev/null
. "$env_file"
set +a
cd "$here"
timeout 1800 cargo bench --bench dkim
