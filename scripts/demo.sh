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

# The simulator's catalogue as a playlist, imported as channels.
for _ in $(seq 1 50); do
    curl -s --noproxy '*' "http://127.0.0.1:$ENGINE_PORT/sim/catalogue" > "$work/catalogue.json" 2>/dev/null \
        && [ -s "$work/catalogue.json" ] && break
    sleep 0.1
done
python3 - "$work/catalogue.json" > "$work/demo.m3u" <<'PY'
import json, sys
print("#EXTM3U")
for c in json.load(open(sys.argv[1])):
    tvg = c["name"].lower().replace(" ", ".")
    print('#EXTINF:-1 tvg-id="%s" group-title="Demo",%s' % (tvg, c["name"]))
    print("acestream://%s" % c["content_id"])
PY
"target/$PROFILE/acextream" channel import "$work/demo.m3u"
"target/$PROFILE/acextream" serve > "$work/acextream.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
    curl -s --noproxy '*' "http://127.0.0.1:$PUBLIC_PORT/health" >/dev/null 2>&1 && break
    sleep 0.1
done

echo
echo "acextream is running on http://127.0.0.1:$PUBLIC_PORT (admin / demo-admin)"
BASE="http://127.0.0.1:$PUBLIC_PORT"
echo "dashboard:   $BASE/dashboard/  (admin / demo-admin)"
echo "Xtream:      server $BASE, username $DEMO_USER, password $DEMO_PASSWORD"
echo "M3U:         $BASE/get.php?username=$DEMO_USER&password=$DEMO_PASSWORD&type=m3u_plus&output=ts"
echo "XMLTV:       $BASE/xmltv.php?username=$DEMO_USER&password=$DEMO_PASSWORD"
echo "play one:    ffplay '$BASE/live/$DEMO_USER/$DEMO_PASSWORD/1.ts'"
# Channels are numbered in import order: the first real-video (H.264) one as HLS.
hls_id=$(python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); print(next((i+1 for i,c in enumerate(l) if c.get("video")=="h264"),""))' "$work/catalogue.json")
if [ -n "$hls_id" ]; then
    echo "as HLS:      ffplay '$BASE/live/$DEMO_USER/$DEMO_PASSWORD/$hls_id.m3u8'  (or the dashboard's Play button)"
fi
echo "or directly by AceStream id:"
python3 - "$work/catalogue.json" "$BASE" "$DEMO_USER" "$DEMO_PASSWORD" <<'PY'
import json, sys
path, base, user, pw = sys.argv[1:5]
for c in json.load(open(path)):
    url = "%s/ace/getstream?id=%s&username=%s&password=%s" % (base, c["content_id"], user, pw)
    print("  %-12s ffplay '%s'" % (c["name"], url))
PY
echo
echo "live status: curl -u admin:demo-admin http://127.0.0.1:$PUBLIC_PORT/api/aceproxy/stats"
echo "logs: $work/acextream.log — Ctrl-C stops everything"
wait "${pids[@]}"
