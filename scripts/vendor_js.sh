#!/usr/bin/env bash
# Vendors the dashboard's two third-party scripts into static/vendor/: hls.js
# (plays the HLS output in browsers without native HLS; its light build, since
# one media playlist with muxed audio needs none of the subtitle, alternate-audio
# or DRM parts) and uPlot (the overview's charts). Both are pinned to an exact
# version; the minified builds and their licences are committed, so building
# acextream never needs npm or a network. After changing a version below, run
# it again and update crates/web/src/dashboard/assets.rs and the templates'
# script paths to match.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

HLS_VERSION=1.7.4
UPLOT_VERSION=1.6.32

if ! command -v npm >/dev/null; then
    echo "installing nodejs npm"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm) >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# `npm pack` fetches the published tarball only (no install scripts run).
fetch() { # package version -> directory of the unpacked package
    local dir=$work/$1
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "$1@$2" >/dev/null && tar -xzf ./*.tgz)
    echo "$dir/package"
}

copy() { # from-dir to-dir files...
    local from=$1 to=$2
    shift 2
    mkdir -p "$to"
    for f in "$@"; do
        [ -f "$from/$f" ] || { echo "missing $f in $from" >&2; exit 1; }
        cp "$from/$f" "$to/$(basename "$f")"
    done
}

hls=$(fetch hls.js "$HLS_VERSION")
uplot=$(fetch uplot "$UPLOT_VERSION")

rm -rf "$root/static/vendor"
copy "$hls" "$root/static/vendor/hls.js-$HLS_VERSION" dist/hls.light.min.js LICENSE
copy "$uplot" "$root/static/vendor/uplot-$UPLOT_VERSION" dist/uPlot.iife.min.js dist/uPlot.min.css LICENSE

# The source maps' comment points at files not shipped: drop it, so browsers'
# developer tools do not ask the server for them.
sed -i -e '/^\/\/# sourceMappingURL=/d' "$root/static/vendor/hls.js-$HLS_VERSION/hls.light.min.js"

(cd "$root/static/vendor" && find . -type f | sort | xargs sha256sum)
