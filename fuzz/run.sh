#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, from this directory.
#
#   FUZZ_SECONDS=300 bash fuzz/run.sh        # default: 60 s per target
#
# Needs `cargo install cargo-fuzz`. cargo-fuzz builds with nightly-only
# flags (-Zsanitizer=address and friends); on a stable toolchain it works
# with RUSTC_BOOTSTRAP=1, which this script sets when rustc is not nightly.
# New inputs are added to corpus/TARGET (kept in git); a crashing input is
# written to artifacts/TARGET/ (ignored) and the script stops.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

seconds="${FUZZ_SECONDS:-60}"
targets=(reply_parser data_decoder data_roundtrip server_session analysis)

if ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi
# Keep fuzz builds out of the main crate's target directory.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

for target in "${targets[@]}"; do
    echo "== fuzzing $target for ${seconds}s"
    mkdir -p "corpus/$target"
    cargo fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=512
done
