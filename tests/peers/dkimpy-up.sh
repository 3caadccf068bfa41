#!/usr/bin/env bash
# dkimpy-up.sh - install dkimpy (PyPI: dkimpy), an independent DKIM verifier,
# in a venv under the peers' state directory. Nothing runs: the tests call it.
# Idempotent: an existing venv with dkimpy importable is kept.
#
# Writes $PEERS_STATE/dkimpy.env:
#   PEERS_DKIMVERIFY   dkimpy's dkimverify script
#   PEERS_DKIMPY_PYTHON the venv's python, for dkim.verify(..., dnsfunc=...)
#                       (dkimverify itself has no way to be given a key)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_TAG=dkimpy-up
# shellcheck source=lib.sh
. "$HERE/lib.sh"
peers_need_root

VENV="$PEERS_STATE/dkimpy-venv"
if ! { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import dkim' 2>/dev/null; }; then
  peers_log "creating venv $VENV and installing dkimpy from PyPI"
  rm -rf "$VENV"
  python3 -m venv "$VENV" >/dev/null
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check 'dkimpy>=1.1,<2' >/dev/null \
    || peers_die "pip install of dkimpy failed"
fi
[ -x "$VENV/bin/dkimverify" ] || peers_die "dkimverify is missing from $VENV/bin"

install -d -m 0755 "$PEERS_STATE"
cat > "$PEERS_STATE/dkimpy.env" <<ENV
# Written by dkimpy-up.sh; source it from tests.
PEERS_DKIMVERIFY=$VENV/bin/dkimverify
PEERS_DKIMPY_PYTHON=$VENV/bin/python
ENV
printf 'dkimpy is ready (%s)\n' "$("$VENV/bin/python" -c 'import importlib.metadata as m; print("dkimpy", m.version("dkimpy"))')"
