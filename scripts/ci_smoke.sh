#!/usr/bin/env bash
# Smoke test of the real binaries: starts acestream-sim and acextream on free
# loopback ports, runs scripts/test_hybrid.sh against them (including a channel read
# through the public port), then stops both. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v curl >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq curl) >/dev/null
fi
cargo build --quiet --bin acextream -p acextream
cargo build --quiet --bin acestream-sim -p acestream-sim

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ENGINE_PORT=$(free_port); PUBLIC_PORT=$(free_port); MUX_PORT=$(free_port)
CHANNEL=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1
cat > "$work/catalogue.toml" <<TOML
[[content]]
name = "CI Channel"
content_id = "$CHANNEL"
infohash = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1"
bitrate_kbps = 4000
startup_delay_ms = 300
TOML

target/debug/acestream-sim --port "$ENGINE_PORT" --catalogue "$work/catalogue.toml" \
    > "$work/sim.log" 2>&1 &
pids+=($!)

export ACEXTREAM_ADMIN__PASSWORD=ci-admin-password
ACEXTREAM_CONFIG= \
ACEXTREAM_SERVER__BIND=127.0.0.1:$PUBLIC_PORT \
ACEXTREAM_MUX__BIND=127.0.0.1:$MUX_PORT \
ACEXTREAM_ENGINE__URL=http://127.0.0.1:$ENGINE_PORT \
ACEXTREAM_DATABASE__PATH=$work/acextream.db \
    target/debug/acextream serve > "$work/acextream.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
    if curl -s --noproxy '*' "http://127.0.0.1:$PUBLIC_PORT/health" 2>/dev/null | grep -q '"engine":{"ok":true'; then
        break
    fi
    sleep 0.2
done

if ! scripts/test_hybrid.sh "$PUBLIC_PORT" "$MUX_PORT" "$CHANNEL"; then
    echo "--- acextream log"; tail -n 50 "$work/acextream.log"
    echo "--- simulator log"; tail -n 20 "$work/sim.log"
    exit 1
fi
if grep -q "$ACEXTREAM_ADMIN__PASSWORD" "$work/acextream.log"; then
    echo "FAIL the admin password appeared in the log"
    exit 1
fi
echo "smoke test passed"
