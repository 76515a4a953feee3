#!/usr/bin/env bash
# make fuzz: the fuzz targets of `make test`, run longer (not part of CI).
#   FUZZ_CASES  proptest cases per host target (default 20000)
#   FUZZ_RUNS   kernel runs of test=fuzz, each with a new seed (default 20)
# A failing kernel run prints its seed: rerun it with APPEND="test=fuzz seed=N" make qemu.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${FUZZ_CASES:-20000}
runs=${FUZZ_RUNS:-20}
start=$(date +%s)
echo "fuzz: host targets, $cases cases each"
PROPTEST_CASES=$cases cargo test --release -p zbeam-images -p zbeam-devtree -p zbeam-initrd -p zbeam-cpm --test fuzz
echo "fuzz: $runs kernel runs of test=fuzz (48 random programs each)"
for i in $(seq 1 "$runs"); do
    seed=$(( (RANDOM << 30) ^ (RANDOM << 15) ^ RANDOM ^ i ))
    if ! out=$(TIMEOUT=120 APPEND="test=fuzz seed=$seed" tools/qemu-run target/zbeam.img </dev/null 2>&1 | tr -d "\000"); then
        echo "$out" | grep -a "test fuzz" || true
        echo "fuzz: kernel run $i FAILED with seed $seed" >&2
        exit 1
    fi
    echo "$out" | grep -a "test fuzz: 0 failed" | sed "s/^/seed $seed: /"
done
echo "fuzz: done in $(( $(date +%s) - start )) s: $cases cases per host target, $runs kernel runs"
