#!/usr/bin/env bash
# One bounded fuzzing run toward the issue's 10 million executions per target
# (fuzz/README.md, "Figures"), logged to fuzz/RUNS.log:
#   fuzz/long-run.sh TARGET [SECONDS]      (default 570: one 10-minute slot)
# New inputs go to /tmp/fz-TARGET (outside the repository), the committed
# corpus is read as a seed. Niced, one process, no leak checks (README).
# RUNS.log columns: UTC date, target, library commit (the last to change src/,
# grammar/, tables/, rules/ or the manifest; "+" when the
# work tree differs from it), harness (sha1 of the target's source, and of
# common.rs if it uses it, so runs of one harness can be added up), executions, seconds,
# exec/s, crashes (0, or the artifact's name), sanitizer.
# FUZZ_SANITIZER=none builds without AddressSanitizer (cargo fuzz -s none):
# 10 to 20 times the executions; panics, overflow checks and hangs are caught
# as before, out-of-bounds reads in the unsafe code (SIMD scanner, mapped
# files) only by the default (address) runs.
set -uo pipefail
cd "$(dirname "$0")"
target="$1"
seconds="${2:-570}"
declare -A dict=([rule_loader]=rule [rule_pipeline]=rule [expr_parser]=expr [json_scan]=json
    [container_reader]=container [container_equivalence]=container [sigma_condition]=sigma)
declare -A len=([rule_loader]=4096 [rule_pipeline]=4096 [expr_parser]=4096 [json_scan]=8192
    [container_reader]=16384 [container_equivalence]=16384 [sigma_condition]=2048)
fuzz=(cargo +nightly fuzz)
sanitizer="${FUZZ_SANITIZER:-address}"
scratch="/tmp/fz-$target"
mkdir -p "$scratch" /tmp/fzlogs
log="/tmp/fzlogs/$target-$(date -u +%Y%m%dT%H%M%S).log"
# The last commit that changed the library (fuzz/ commits do not count).
commit="$(git log -1 --format=%h --abbrev=10 -- ../src ../grammar ../Cargo.toml ../Cargo.lock ../tables ../rules ../build.rs)"
git diff --quiet HEAD -- ../src ../grammar ../Cargo.toml ../tables ../rules || commit="$commit+"
# The sources the target compiles: its own, and common.rs if it uses it.
sources=("fuzz_targets/$target.rs")
grep -q '"common.rs"' "fuzz_targets/$target.rs" && sources+=(fuzz_targets/common.rs)
harness="$(cat "${sources[@]}" | sha1sum | cut -c1-10)"
nice -n 19 "${fuzz[@]}" build -s "$sanitizer" "$target" >/dev/null 2>&1 || { echo "build failed" >&2; exit 2; }
before="$(ls "artifacts/$target" 2>/dev/null | wc -l)"
start=$(date +%s)
nice -n 19 "${fuzz[@]}" run -s "$sanitizer" "$target" "$scratch" "corpus/$target" -- \
    -detect_leaks=0 -dict="dicts/${dict[$target]}.dict" -max_len="${len[$target]}" -timeout=10 \
    -rss_limit_mb=2048 -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))
runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
crash=0
if [ "$rc" != 0 ]; then
    crash="$(ls -t "artifacts/$target" 2>/dev/null | head -1)"
    [ "$(ls "artifacts/$target" 2>/dev/null | wc -l)" -gt "$before" ] || crash="exit-$rc"
fi
rate="$(( ${runs:-0} / (elapsed > 0 ? elapsed : 1) ))"
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$target" "$commit" "$harness" \
    "${runs:-0}" "$elapsed" "$rate" "$crash" "$sanitizer" >>RUNS.log
tail -n 1 RUNS.log
[ "$rc" = 0 ]
