#!/usr/bin/env bash
# Checks both ports of a running acextream: the internal multiplexer's status, the
# public proxy's status, the admin stats, and (given a channel id) a few chunks of
# the channel streamed through the public port.
#
#   scripts/test_hybrid.sh [PUBLIC_PORT] [MUX_PORT] [CHANNEL_ID]
#
# Admin credentials come from the same variables the daemon reads:
# ACEXTREAM_ADMIN__USERNAME (default admin) and ACEXTREAM_ADMIN__PASSWORD. HOST (default 127.0.0.1) names the machine.
# Prints one line per check; exits 0 only if every check passed.
set -uo pipefail

PUBLIC_PORT=${1:-58055}
MUX_PORT=${2:-8001}
CHANNEL_ID=${3:-}
HOST=${HOST:-127.0.0.1}
ADMIN_USER=${ACEXTREAM_ADMIN__USERNAME:-admin}
ADMIN_PASSWORD=${ACEXTREAM_ADMIN__PASSWORD:-}

if ! command -v curl >/dev/null; then
    echo "installing curl" >&2
    (apt-get update -qq && apt-get install -y -qq curl) >/dev/null 2>&1 || {
        echo "FAIL curl is missing and could not be installed"; exit 1; }
fi

failures=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

# check NAME URL EXPECTED_STATUS JSON_KEY [curl args...]
check_json() {
    local name=$1 url=$2 want=$3 key=$4; shift 4
    local body status
    body=$(curl -sS --noproxy '*' --max-time 10 -w '\n%{http_code}' "$@" "$url" 2>&1) || {
        fail "$name: $url unreachable"; return; }
    status=${body##*$'\n'}
    body=${body%$'\n'*}
    if [[ $status != "$want" ]]; then
        fail "$name: HTTP $status (expected $want) from $url"
    elif [[ $body != *"\"$key\""* ]]; then
        fail "$name: no \"$key\" in $body"
    else
        pass "$name: HTTP $status ${body:0:80}"
    fi
}

check_json "internal /ace/status" "http://$HOST:$MUX_PORT/ace/status" 200 streams
check_json "public /ace/status" "http://$HOST:$PUBLIC_PORT/ace/status" 200 streams
check_json "public /health" "http://$HOST:$PUBLIC_PORT/health" 200 database
check_json "/api/aceproxy/stats without login is refused" \
    "http://$HOST:$PUBLIC_PORT/api/aceproxy/stats" 401 error
if [[ -n $ADMIN_PASSWORD ]]; then
    check_json "/api/aceproxy/stats as admin" "http://$HOST:$PUBLIC_PORT/api/aceproxy/stats" \
        200 streams -u "$ADMIN_USER:$ADMIN_PASSWORD"
else
    fail "/api/aceproxy/stats as admin: set ACEXTREAM_ADMIN__PASSWORD"
fi

if [[ -n $CHANNEL_ID ]]; then
    tmp=$(mktemp); hdr=$(mktemp)
    # Read 256 KiB and hang up: a live stream never ends by itself.
    curl -sS --noproxy '*' --max-time 30 -u "$ADMIN_USER:$ADMIN_PASSWORD" -D "$hdr" \
        "http://$HOST:$PUBLIC_PORT/ace/getstream?id=$CHANNEL_ID" 2>/dev/null \
        | head -c 262144 > "$tmp"
    status=$(head -n 1 "$hdr" | awk '{print $2}')
    size=$(stat -c %s "$tmp" 2>/dev/null || echo 0)
    first=$(head -c 1 "$tmp" | od -An -tx1 | tr -d ' ')
    if [[ $status == 200 && $size -ge 188 && $first == 47 ]]; then
        pass "stream $CHANNEL_ID through the public port: HTTP 200, $size bytes, TS sync byte"
    else
        fail "stream $CHANNEL_ID: HTTP ${status:-none}, $size bytes, first byte ${first:-none}"
    fi
    if [[ -n $ADMIN_PASSWORD ]]; then
        check_json "stream $CHANNEL_ID listed in /ace/status" \
            "http://$HOST:$MUX_PORT/ace/status?id=$CHANNEL_ID" 200 clients
    fi
    rm -f "$tmp" "$hdr"
fi

if [[ $failures -eq 0 ]]; then
    echo "all checks passed"
    exit 0
fi
echo "$failures check(s) failed"
exit 1
