#!/usr/bin/env bash
# Benchmark of catch-up recording: a release acextream records 20 channels of
# acestream-sim at 4 Mbit/s with nobody watching, and this measures, over
# BENCH_DURATION seconds (default 60) after a warm-up, the daemon's CPU per GiB
# recorded and the bytes it wrote to disk per byte it recorded (from
# /proc/<pid>/io write_bytes: segment files, the database and anything else).
# Writes the "Recording" section of BENCHMARKS.md (between its markers), keeping
# the rest of the file.
#
#   scripts/bench_archive.sh                     20 channels, 60 s
#   BENCH_CHANNELS=5 BENCH_DURATION=20 scripts/bench_archive.sh
#   BENCH_NO_BUILD=1 scripts/bench_archive.sh    use the release binaries built
#
# Needs only the Rust toolchain and python3; loopback only; every process it
# starts is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CHANNELS=${BENCH_CHANNELS:-20}
DURATION=${BENCH_DURATION:-60}
WARMUP=${BENCH_WARMUP:-15}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release
PASSWORD=bench-$RANDOM$RANDOM

command -v python3 >/dev/null || { echo "bench_archive.sh: python3 is required" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/acextream-bench-archive.XXXXXX")
SIM_PID=""
DAEMON_PID=""
stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    stop_pid "$DAEMON_PID"
    stop_pid "$SIM_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_http() {
    python3 - "$1" <<'EOF'
import sys, time, urllib.request
for _ in range(150):
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=1) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(f"bench_archive.sh: {sys.argv[1]} did not answer within 15 s")
EOF
}

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    echo "bench_archive.sh: building release binaries into $TARGET_DIR" >&2
    cargo build --release --bin acextream -p acextream
    cargo build --release -p acestream-sim --bin acestream-sim
fi

python3 - "$WORK/catalogue.toml" "$CHANNELS" <<'EOF'
import hashlib, sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        cid = hashlib.sha1(f"acextream-archive-content-{i}".encode()).hexdigest()
        ih = hashlib.sha1(f"acextream-archive-infohash-{i}".encode()).hexdigest()
        f.write(f'[[content]]\nname = "Rec {i:02}"\ncontent_id = "{cid}"\ninfohash = "{ih}"\nbitrate_kbps = 4000\n\n')
EOF
SIM_PORT=$(free_port)
RUST_LOG=warn "$BIN/acestream-sim" --host 127.0.0.1 --port "$SIM_PORT" \
    --catalogue "$WORK/catalogue.toml" >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
wait_http "http://127.0.0.1:$SIM_PORT/sim/state"

PUB_PORT=$(free_port)
MUX_PORT=$(free_port)
ACEXTREAM_SERVER__BIND=127.0.0.1:$PUB_PORT \
ACEXTREAM_MUX__BIND=127.0.0.1:$MUX_PORT \
ACEXTREAM_ENGINE__URL=http://127.0.0.1:$SIM_PORT \
ACEXTREAM_DATABASE__PATH=$WORK/db.sqlite \
ACEXTREAM_ARCHIVE__DIR=$WORK/archive \
ACEXTREAM_ADMIN__PASSWORD=$PASSWORD \
ACEXTREAM_LOG__LEVEL=warn \
ACEXTREAM_LOG__ACCESS_LOG=false \
    bash -c 'cd "$1" && exec "$2" serve' _ "$WORK" "$BIN/acextream" >"$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_http "http://127.0.0.1:$PUB_PORT/health"

python3 - "http://127.0.0.1:$PUB_PORT" "$PASSWORD" "$WORK/catalogue.toml" "$DAEMON_PID" \
    "$WARMUP" "$DURATION" "$OUT" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'EOF'
import base64, json, os, re, sys, time, urllib.request
base, password, catalogue, pid, warmup, duration, out, commit = sys.argv[1:9]
pid, warmup, duration = int(pid), float(warmup), float(duration)
auth = base64.b64encode(f"admin:{password}".encode()).decode()
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")
ids = re.findall(r'content_id = "([0-9a-f]{40})"', open(catalogue).read())
for i, cid in enumerate(ids):
    ch = call("POST", "/api/channels", {"name": f"Rec {i:02}", "stream": cid})
    call("PUT", f"/api/channels/{ch['id']}/archive", {"days": 1})
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
def written():
    for line in open(f"/proc/{pid}/io"):
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0
def recorded():
    return sum(c["bytes_written"] for c in call("GET", "/api/archive")["channels"])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
time.sleep(warmup)
c0, w0, r0, t0 = cpu(), written(), recorded(), time.time()
time.sleep(duration)
c1, w1, r1, t1 = cpu(), written(), recorded(), time.time()
st = call("GET", "/api/archive")
recording = sum(1 for c in st["channels"] if c["recording"])
gib = (r1 - r0) / 2**30
row = {
    "channels": len(ids), "recording": recording, "seconds": round(t1 - t0, 1),
    "recorded_mib_s": round((r1 - r0) / 2**20 / (t1 - t0), 2),
    "cpu_share": round((c1 - c0) / (t1 - t0), 3),
    "cpu_s_per_gib": round((c1 - c0) / gib, 2) if gib > 0 else None,
    "disk_per_byte": round((w1 - w0) / (r1 - r0), 3) if r1 > r0 else None,
    "rss_mib": round(rss(), 1),
}
print(json.dumps(row))
section = f"""<!-- archive:start -->
## Recording (catch-up)

`scripts/bench_archive.sh` at {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores:
{row['channels']} channels at 4 Mbit/s recorded with no viewer, measured for {row['seconds']} s after a {warmup:.0f} s warm-up.

| channels recording | recorded MiB/s | daemon CPU (cores) | CPU-s per GiB recorded | disk bytes written per byte recorded | RSS MiB |
|---|---|---|---|---|---|
| {row['recording']} / {row['channels']} | {row['recorded_mib_s']} | {row['cpu_share']} | {row['cpu_s_per_gib']} | {row['disk_per_byte']} | {row['rss_mib']} |

Each recorder is a viewer of its channel's hub over the loopback multiplexer hop (no second
engine session); segments are written once (`.part`, fsync, rename), so disk bytes per byte
recorded above 1.0 are the database and the file system's own writes. Not yet optimised: per
GiB this costs about ten times the CPU of fanning a channel out to viewers — the suspects, to
measure one at a time, are the fsync of every segment, the copy of each read into the
recorder's packet buffer, and the loopback hop a recorder takes like any viewer; the RSS is
mostly the 20 hubs' shared rings (`mux.max_client_lag_bytes` each), held whether or not anyone
watches.
<!-- archive:end -->
"""
text = open(out).read() if os.path.exists(out) else "# Benchmarks\n"
if "<!-- archive:start -->" in text:
    text = re.sub(r"<!-- archive:start -->.*?<!-- archive:end -->\n?", section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(out, "w").write(text)
if recording < len(ids):
    sys.exit(f"bench_archive.sh: only {recording} of {len(ids)} channels were recording")
EOF
