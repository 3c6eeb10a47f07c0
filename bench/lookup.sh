#!/usr/bin/env bash
# The cost of a 10,000-range allowlist: the tuned T1528 rule
# (rules/entra/service_principal_token_ip_mismatch_tuned.yml) with its
# `egress_allowlist` empty and with 10,000 /28 ranges (in 100.64.0.0/10, which
# the generated data never uses, so the alerts are the same and only the
# lookups differ), over the bench data, RUNS runs each, alternating; prints
# the medians and their ratio. Issue target: at most 1.10.
#
#   bench/lookup.sh                 # bench/out/data-1 (made by `bench/run`), 5 runs
#   DATA=bench/out/data-0.01 RUNS=3 bench/lookup.sh
#   SIGCORR_BIN=target/quick/sigcorr bench/lookup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${SIGCORR_BIN:-target/release/sigcorr}"
data="${DATA:-bench/out/data-1}"
runs="${RUNS:-5}"
[ -x "$bin" ] || { echo "no $bin: cargo build --release" >&2; exit 2; }
[ -d "$data" ] || { echo "no $data: bench/run generates it" >&2; exit 2; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
rule=rules/entra/service_principal_token_ip_mismatch_tuned.yml
cp "$rule" "$dir/empty.yml"
sed 's/egress_allowlist: \[\]/egress_allowlist: {file: ranges.txt}/' "$rule" > "$dir/ranges.yml"
python3 - "$dir/ranges.txt" <<'EOF'
import sys
# 10,000 distinct /28s of 100.64.0.0/10 (4,194,304 addresses; 262,144 /28s), spread out.
with open(sys.argv[1], "w") as f:
    for i in range(10_000):
        n = (i * 26_207) % 262_144
        base = (100 << 24) | (64 << 16) | (n << 4)
        f.write(f"{base >> 24}.{(base >> 16) & 255}.{(base >> 8) & 255}.{base & 255}/28\n")
EOF
grep -q 'file: ranges.txt' "$dir/ranges.yml" || { echo "the rule's egress_allowlist line changed" >&2; exit 2; }
now=2026-07-16T12:00:00Z
one() {  # rule -> seconds, alerts written to $dir/<rule>.out
    local start end
    start=$(date +%s.%N)
    "$bin" run --quiet --now "$now" --rules "$dir/$1.yml" "$data" > "$dir/$1.out" || [ $? -eq 3 ]
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
one empty > /dev/null
one ranges > /dev/null
if ! cmp -s <(sort "$dir/empty.out" | sed 's/"rule":{[^}]*}//') <(sort "$dir/ranges.out" | sed 's/"rule":{[^}]*}//'); then
    echo "the alerts differ with the ranges: the benchmark would compare different work" >&2
    exit 1
fi
e=(); r=()
for _ in $(seq "$runs"); do
    e+=("$(one empty)")
    r+=("$(one ranges)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
me=$(median "${e[@]}"); mr=$(median "${r[@]}")
alerts=$(wc -l < "$dir/empty.out")
echo "data: $data ($alerts alerts either way), $runs runs each, medians"
printf 'no allowlist       %6.2f s\n10,000 ranges      %6.2f s\nratio              %6.3f\n' "$me" "$mr" "$(echo "$mr / $me" | bc -l)"
