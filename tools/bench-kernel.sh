#!/usr/bin/env bash
# The scheduler's dimensionless figures measured inside the kernel under QEMU (TCG),
# as the issue asks: normal:low share, skewed load total/ideal with migrations,
# timer lateness in ticks, and ring hop time. No assertions: it prints a table.
#   tools/bench-kernel.sh [runs]      (default 3; medians where a figure repeats)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
make -s image >/dev/null
img=target/zbeam.img
boot() { # test-name [extra qemu args]
    local t=$1; shift
    MEM=512M TIMEOUT=300 tools/qemu-run "$img" -append "test=$t" "$@" </dev/null 2>&1 | tr -d '\r' || true
}
# A figure that a boot did not print becomes "-" instead of ending the script.
pick() { grep "$1" | sed -E "$2" | head -1 || true; }
median() { grep -v '^-*$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "-"; else print a[int((NR+1)/2)]}'; }

share1=(); share2=(); skew=(); migr=(); late=(); late_ic=(); hop=()
for _ in $(seq "$runs"); do
    out=$(boot bench-share)
    share1+=("$(pick '1 normal + 1 low' 's/.*= ([0-9.]+):1.*/\1/' <<<"$out")")
    share2+=("$(pick '2 normal + 1 low' 's/.*low share ([0-9.]+)%.*/\1/' <<<"$out")")
    out=$(boot bench-skew)
    skew+=("$(pick 'bench skew' 's/.*total\/ideal = ([0-9.]+).*/\1/' <<<"$out")")
    migr+=("$(pick 'bench skew' 's/.*, ([0-9]+) migrations.*/\1/' <<<"$out")")
    out=$(boot timers)
    late+=("$(pick 'max lateness' 's/.*max lateness ([0-9]+) ms.*/\1/' <<<"$out")")
    out=$(boot timers -icount shift=0,sleep=off)
    late_ic+=("$(pick 'max lateness' 's/.*max lateness ([0-9]+) ms.*/\1/' <<<"$out")")
    out=$(boot ring)
    hop+=("$(pick 'ns/hop' 's/.*\(([0-9]+) ns\/hop\).*/\1/' <<<"$out")")
done
m() { printf '%s\n' "$@" | median; }
echo "zbeam kernel under QEMU TCG ($(qemu-system-aarch64 --version | head -1)), 4 cores, GICv2; median of $runs boots"
echo "command: tools/bench-kernel.sh $runs"
echo
echo "| figure | zbeam (QEMU) | BEAM (measured, BEAM.md) |"
echo "|---|---:|---:|"
echo "| normal:low, 1 normal + 1 low on one core | $(m "${share1[@]}"):1 | 8.00:1 |"
echo "| low share, 2 normal + 1 low on one core | $(m "${share2[@]}")% | 5.9% (1/17) |"
echo "| 16 CPU-bound workers started on core 0: total/ideal | $(m "${skew[@]}") | 1.065 |"
echo "| migrations + steals during that run | $(m "${migr[@]}") | - |"
echo "| timer lateness, max over 100 waits (1 ms ticks), real time | $(m "${late[@]}") ticks | p99 about 8 ms |"
echo "| the same on -icount (guest time immune to host load) | $(m "${late_ic[@]}") ticks | - |"
echo "| ring of 1000 Z80 processes, time per hop | $(m "${hop[@]}") ns (TCG) | 220-260 ns (native) |"
