#!/usr/bin/env bash
# The fuzz targets' smoke run, as CI runs it (.ci/test; fuzz/README.md):
# builds every target, then runs each for SIGCORR_FUZZ_SECONDS (default 20)
# seconds from its committed corpus. New inputs go to a scratch directory,
# so the corpus in the repository is left as it is. A crash, a failed
# assertion, a hang of 10 s on one input or 2 GB of memory fails the run,
# and leaves the input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${SIGCORR_FUZZ_SECONDS:-20}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/smoke.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
# cargo-fuzz passes nightly-only flags (-Zsanitizer): use the nightly
# toolchain when rustup has one, else let the stable compiler take them.
if command -v rustup >/dev/null 2>&1 && rustup run nightly rustc --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

"${fuzz[@]}" build

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# target, dictionary, longest input
for spec in rule_loader:rule:4096 rule_pipeline:rule:4096 expr_parser:expr:4096 json_scan:json:8192 \
    sigma_condition:sigma:2048 container_reader:container:16384 container_equivalence:container:16384; do
    IFS=: read -r target dict len <<<"$spec"
    mkdir -p "$scratch/$target"
    log="$scratch/$target.log"
    if ! "${fuzz[@]}" run "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -detect_leaks=0 \
        -dict="dicts/$dict.dict" -max_len="$len" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 80 "$log" >&2
        echo "fuzz/smoke.sh: $target failed; its input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    cov="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)"
    echo "fuzz/smoke.sh: $target: ${runs:-?} runs in ${seconds} s, no crash (${cov:-cov: ?})" >&2
done
