#!/usr/bin/env bash
# dkimpy-up.sh - install the independent verifiers, nobody's code here, in one
# venv under the peers' state directory: dkimpy (PyPI: dkimpy, with PyNaCl for
# ed25519-sha256) for DKIM and pyspf (PyPI: pyspf, with dnspython) for SPF.
# Nothing runs: the tests call them. Idempotent: a venv where all of them
# import is kept.
#
# Writes $PEERS_STATE/dkimpy.env:
#   PEERS_DKIMVERIFY    dkimpy's dkimverify script
#   PEERS_DKIMPY_PYTHON the venv's python, for dkim.verify(..., dnsfunc=...)
#                       (dkimverify itself has no way to be given a key)
#   PEERS_PYSPF_PYTHON  the same python, with pyspf (import spf) and dnspython
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_TAG=dkimpy-up
# shellcheck source=lib.sh
. "$HERE/lib.sh"
peers_need_root

VENV="$PEERS_STATE/dkimpy-venv"
PACKAGES=('dkimpy>=1.1,<2' 'PyNaCl>=1.5,<2' 'pyspf>=2.0.14,<3' 'dnspython>=2.3,<3')
imports='import dkim, nacl, spf, dns.resolver'
if ! { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "$imports" 2>/dev/null; }; then
  # Debian's python3 leaves venv out of the base package.
  python3 -c 'import ensurepip' 2>/dev/null || peers_apt_install python3-venv
  [ -x "$VENV/bin/python" ] || {
    peers_log "creating venv $VENV"
    python3 -m venv "$VENV" >/dev/null
  }
  peers_log "installing ${PACKAGES[*]} from PyPI"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PACKAGES[@]}" >/dev/null \
    || peers_die "pip install of ${PACKAGES[*]} failed"
  "$VENV/bin/python" -c "$imports" || peers_die "the verifiers do not import after pip install"
fi
[ -x "$VENV/bin/dkimverify" ] || peers_die "dkimverify is missing from $VENV/bin"

install -d -m 0755 "$PEERS_STATE"
cat > "$PEERS_STATE/dkimpy.env" <<ENV
# Written by dkimpy-up.sh; source it from tests.
PEERS_DKIMVERIFY=$VENV/bin/dkimverify
PEERS_DKIMPY_PYTHON=$VENV/bin/python
PEERS_PYSPF_PYTHON=$VENV/bin/python
ENV
printf 'verifiers are ready (%s)\n' "$("$VENV/bin/python" -c '
import importlib.metadata as m
print(", ".join(p + " " + m.version(p) for p in ("dkimpy", "PyNaCl", "pyspf", "dnspython")))')"
