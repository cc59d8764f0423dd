#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 30, as in CI) and
# fails if any of them finds a crash, a broken invariant or a hang.
#
#   scripts/fuzz.sh [SECONDS]
#
# Needs the nightly toolchain (libFuzzer instrumentation); installs cargo-fuzz when
# missing. Each target's corpus (fuzz/corpus/<target>/, not committed) is seeded
# with fuzz/seeds/<target>/, fuzz/regressions/<target>/ and the test fixtures the
# parser reads (keep the table below in step with crates/core/tests/fuzz_regressions.rs),
# and fuzz/dicts/<target>.dict, when there is one, gives libFuzzer the format's tokens.
#
# Environment: FUZZ_SANITIZER (default `none`: the code is safe Rust, and skipping
# ASan keeps the CI build short; `address` for the C parts, liblzma), FUZZ_TARGETS
# (space-separated subset).
#
# A crash leaves its input in fuzz/artifacts/<target>/. Minimise it
# (`cargo +nightly fuzz tmin <target> <file>`), fix the code, and keep the input as
# fuzz/regressions/<target>/<what-it-broke> so `cargo test` replays it for ever.
set -euo pipefail

seconds="${1:-30}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzzing needs the nightly toolchain: rustup toolchain install nightly" >&2
  exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz…"
  cargo +nightly install cargo-fuzz --locked
fi

sanitizer="${FUZZ_SANITIZER:-none}"
# Its own target directory: instrumented builds share nothing with the workspace's.
export CARGO_TARGET_DIR="$root/fuzz/target"
cargo +nightly fuzz build -s "$sanitizer"

# target → fixture directory and extension that seed it.
fixtures() {
  case "$1" in
    m3u) echo "crates/core/tests/fixtures/sources m3u" ;;
    json_list) echo "crates/core/tests/fixtures/sources json" ;;
    html) echo "crates/core/tests/fixtures/sources html" ;;
    xmltv) echo "crates/core/tests/fixtures/epg xml" ;;
    settings) echo "config toml" ;;
  esac
}

targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"
failed=()
for target in $targets; do
  corpus="corpus/$target"
  mkdir -p "$corpus"
  for dir in "seeds/$target" "regressions/$target"; do
    if [ -d "$dir" ]; then
      find "$dir" -maxdepth 1 -type f -exec cp {} "$corpus/" \;
    fi
  done
  read -r dir ext <<<"$(fixtures "$target") "
  if [ -n "${dir:-}" ]; then
    find "$root/$dir" -maxdepth 1 -type f -name "*.$ext" -exec cp {} "$corpus/" \;
  fi
  dict=()
  if [ -f "dicts/$target.dict" ]; then
    dict=(-dict="dicts/$target.dict")
  fi
  echo "=== $target: ${seconds}s"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a memory blow-up.
  if ! cargo +nightly fuzz run -s "$sanitizer" "$target" "$corpus" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 "${dict[@]}"; then
    failed+=("$target")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzzing: every target ran ${seconds}s without a crash"
