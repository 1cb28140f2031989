#!/usr/bin/env bash
# Runs Tollgate against the providers' official SDKs: Python (anthropic, openai, google-genai) with
# pytest, then Node (@anthropic-ai/sdk, openai, @google/genai) with `node --test`. Each suite starts
# its own `tollgate demo`.
#
#   cargo build && bash tests/sdk/run.sh
#
# TOLLGATE_BIN: the tollgate binary (default target/debug/tollgate, relative to the repo root).
# SDK_VENV: the Python venv to create or reuse (default target/sdk-venv).
# Extra arguments go to pytest (e.g. `-k anthropic`).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

bin="${TOLLGATE_BIN:-target/debug/tollgate}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
if [ ! -x "$bin" ]; then
    echo "run.sh: tollgate binary not found at $bin (run cargo build or set TOLLGATE_BIN)" >&2
    exit 2
fi
export TOLLGATE_BIN="$bin"

venv="${SDK_VENV:-$root/target/sdk-venv}"
status=0

echo "== Python SDKs (venv $venv)"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || { echo "run.sh: cannot create the venv" >&2; exit 2; }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/python/requirements.txt" \
    || { echo "run.sh: pip install failed" >&2; exit 2; }
"$venv/bin/python" -m pytest "$here/python" -q -rxXfE -p no:cacheprovider "$@" || status=1

echo "== Node SDKs ($(node --version))"
(
    cd "$here/node" &&
        npm ci --no-audit --no-fund --loglevel=error &&
        node --test sdk.test.mjs
) || status=1

if [ "$status" -ne 0 ]; then
    echo "run.sh: SDK tests FAILED" >&2
fi
exit "$status"
