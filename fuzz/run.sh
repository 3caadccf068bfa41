#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, then minimises its corpus.
#
#   bash fuzz/run.sh                         # 60 s per target, all targets
#   FUZZ_SECONDS=900 bash fuzz/run.sh        # longer
#   bash fuzz/run.sh server_session analysis # only these
#
# Needs `cargo install cargo-fuzz`. cargo-fuzz builds with nightly-only
# flags (-Zsanitizer=address and friends); on a stable toolchain it works
# with RUSTC_BOOTSTRAP=1, which this script sets when rustc is not nightly.
#
# seeds/TARGET holds hand-written inputs (read, never changed); what the
# fuzzer finds goes to corpus/TARGET, which `cargo fuzz cmin` then keeps to
# the inputs that each add coverage. Both are in git, and the main crate's
# tests replay them. A crashing input is written to artifacts/TARGET/
# (ignored) and the script stops: keep it in regressions/TARGET/ and fix
# the bug (see README.md).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

seconds="${FUZZ_SECONDS:-60}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(reply_parser data_decoder data_roundtrip server_session analysis mta_sts certificate rules_file replay)
fi

if ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi
# Keep fuzz builds out of the main crate's target directory.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

for target in "${targets[@]}"; do
    echo "== fuzzing $target for ${seconds}s"
    mkdir -p "corpus/$target" "seeds/$target"
    cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=512
    echo "== minimising corpus/$target"
    cargo fuzz cmin "$target" "corpus/$target" 2>&1 | tail -n 2
done
