#!/usr/bin/env bash
# Sums RUNS.log (written by long-run.sh): executions per target, library
# commit and harness, with the runs' seconds and crashes. The issue counts
# executions of one harness on one library commit; runs without a sanitizer
# (column 9 "none") are summed apart from AddressSanitizer's.
cd "$(dirname "$0")"
printf "%-22s %-11s %-10s %-8s %5s %12s %7s %7s %7s\n" target library harness sanitizer runs executions seconds exec/s crashes
awk -F'\t' '!/^#/ && NF >= 8 {
    k = $2 "\t" $3 "\t" $4 "\t" ($9 == "" ? "address" : $9); runs[k]++; ex[k] += $5; sec[k] += $6
    if ($8 != "0") bad[k]++
} END {
    for (k in runs) {
        split(k, f, "\t")
        printf "%-22s %-11s %-10s %-8s %5d %12d %7d %7d %7d\n", f[1], f[2], f[3], f[4], runs[k], ex[k], sec[k], ex[k] / (sec[k] ? sec[k] : 1), bad[k]
    }
}' RUNS.log | sort
