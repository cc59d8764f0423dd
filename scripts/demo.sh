#!/usr/bin/env bash
# Starts the engine simulator with its demo channels and acextream in front of it,
# then prints the URLs to play. No AceStream engine needed. Ctrl-C stops both.
#
#   scripts/demo.sh            # debug build (fastest to compile)
#   PROFILE=release scripts/demo.sh
#
# Ports: ENGINE_PORT (6878), PUBLIC_PORT (58055), MUX_PORT (8001).
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-debug}
ENGINE_PORT=${ENGINE_PORT:-6878}
PUBLIC_PORT=${PUBLIC_PORT:-58055}
MUX_PORT=${MUX_PORT:-8001}
DEMO_USER=demo
DEMO_PASSWORD=demo-password

flag=(); [[ $PROFILE == release ]] && flag=(--release)
echo "building ($PROFILE)…"
cargo build "${flag[@]}" --quiet --bin acextream -p acextream
cargo build "${flag[@]}" --quiet --bin acestream-sim -p acestream-sim

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

"target/$PROFILE/acestream-sim" --port "$ENGINE_PORT" \
    --catalogue crates/engine-sim/demo-catalogue.toml > "$work/sim.log" 2>&1 &
pids+=($!)

export ACEXTREAM_CONFIG=
export ACEXTREAM_SERVER__BIND=127.0.0.1:$PUBLIC_PORT
export ACEXTREAM_MUX__BIND=127.0.0.1:$MUX_PORT
export ACEXTREAM_ENGINE__URL=http://127.0.0.1:$ENGINE_PORT
export ACEXTREAM_DATABASE__PATH=$work/demo.db
export ACEXTREAM_ADMIN__PASSWORD=demo-admin
"target/$PROFILE/acextream" user add "$DEMO_USER" --password "$DEMO_PASSWORD" \
    --max-connections 4 >/dev/null
"target/$PROFILE/acextream" serve > "$work/acextream.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
    curl -s --noproxy '*' "http://127.0.0.1:$PUBLIC_PORT/health" >/dev/null 2>&1 && break
    sleep 0.1
done

echo
echo "acextream is running on http://127.0.0.1:$PUBLIC_PORT (admin / demo-admin)"
echo "user $DEMO_USER / $DEMO_PASSWORD; demo channels (play with ffplay, mpv or VLC):"
curl -s --noproxy '*' "http://127.0.0.1:$ENGINE_PORT/sim/catalogue" | python3 -c '
import json, sys
base, user, pw = sys.argv[1], sys.argv[2], sys.argv[3]
data = json.load(sys.stdin)
items = data if isinstance(data, list) else data.get("catalogue", data.get("contents", []))
for c in items:
    url = "%s/ace/getstream?id=%s&username=%s&password=%s" % (base, c["content_id"], user, pw)
    print("  %-12s ffplay \x27%s\x27" % (c["name"], url))
' "http://127.0.0.1:$PUBLIC_PORT" "$DEMO_USER" "$DEMO_PASSWORD"
echo
echo "live status: curl -u admin:demo-admin http://127.0.0.1:$PUBLIC_PORT/api/aceproxy/stats"
echo "logs: $work/acextream.log — Ctrl-C stops everything"
wait "${pids[@]}"
