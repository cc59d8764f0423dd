#!/usr/bin/env bash
# Runs the benchmark matrix of scripts/bench.sh against another AceStream proxy, then
# against acextream, with the same simulator, clients, pinning and duration, and
# writes BENCHMARKS.md with the other proxy's figures in a column of their own: the
# comparison is part of the benchmark, not a claim.
#
#   scripts/compare.sh
#       pyacexy (github.com/wafy80/pyacexy at the commit below), pip-installed into
#       a temporary venv (needs python3 and access to PyPI and GitHub)
#   COMPARE_PYACEXY=/path/to/pyacexy-checkout scripts/compare.sh
#       the same from a local checkout (only aiohttp comes from PyPI)
#   COMPARE_NAME=acexy COMPARE_CMD='/path/acexy -addr 127.0.0.1:{port} -acestream-host 127.0.0.1 -acestream-port {engine_port}' scripts/compare.sh
#       any other proxy: a command line with {port} (where it listens) and
#       {engine_port} (the simulator's); COMPARE_PATH is its stream path
#       (default /ace/getstream?id={id}). acexy (Go) is run this way where a Go
#       toolchain built it (`go install github.com/Javinator9889/acexy@latest`).
#   COMPARE_RUNS="c1x100 stall" scripts/compare.sh
#       only these runs for both (default: every MPEG-TS run another proxy can
#       take; failover, pool and hls200 need acextream's own channels and HLS)
#
# Every other BENCH_* variable of bench.sh applies to both matrices (BENCH_RESULTS_OUT
# keeps acextream's results; COMPARE_RESULTS_OUT the other proxy's).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PYACEXY_REF=c0eaf194faa7d3e259af0b65b9d2f4e67ef10a6a
RUNS=${COMPARE_RUNS:-"c1x1 c1x100 c1x500 c1x1000 c50x10 stall kickoff unpaced"}
NAME=${COMPARE_NAME:-pyacexy}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/acextream-compare.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [ -n "${COMPARE_CMD:-}" ]; then
    CMD=$COMPARE_CMD
    ABOUT=${COMPARE_ABOUT:-"$NAME ($COMPARE_CMD)"}
else
    command -v python3 >/dev/null || { echo "compare.sh: python3 is required" >&2; exit 1; }
    SRC=${COMPARE_PYACEXY:-"git+https://github.com/wafy80/pyacexy@$PYACEXY_REF"}
    echo "compare.sh: installing pyacexy from $SRC into a temporary venv" >&2
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install --quiet "$SRC"
    CMD="$WORK/venv/bin/pyacexy --host 127.0.0.1 --port {engine_port} --listen-addr 127.0.0.1:{port}"
    version=$(cd "$SRC" 2>/dev/null && git rev-parse --short HEAD 2>/dev/null || echo "${PYACEXY_REF:0:8}")
    ABOUT="pyacexy (Python, aiohttp) at $version, its defaults (4 MiB buffer per stream, 2 s write timeout)"
fi

echo "compare.sh: the matrix against $NAME" >&2
BENCH_RUNS=$RUNS BENCH_PROXY_CMD=$CMD BENCH_PROXY_PATH=${COMPARE_PATH:-"/ace/getstream?id={id}"} \
BENCH_RESULTS_OUT=${COMPARE_RESULTS_OUT:-$WORK/other.jsonl} BENCH_OUT=$WORK/other.md \
    scripts/bench.sh
[ -n "${COMPARE_RESULTS_OUT:-}" ] && cp "$COMPARE_RESULTS_OUT" "$WORK/other.jsonl"
echo "compare.sh: the matrix against acextream" >&2
BENCH_COMPARE="$NAME=$WORK/other.jsonl" BENCH_COMPARE_ABOUT=$ABOUT BENCH_NO_BUILD=1 \
BENCH_RESULTS_OUT=${BENCH_RESULTS_OUT:-} \
    scripts/bench.sh
