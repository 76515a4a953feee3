#!/usr/bin/env bash
# P/E scheduling figures (issue 11), printed as tables for BENCHMARKS.md:
#  * in the kernel under QEMU (TCG) on the 2P+2E tree, for each load of the hetero tests
#    (8 high spinners; 2 high + 2 low; 4 high, then the 2 on P cores killed): per core,
#    guest-time utilisation, IPIs received per guest second and migrations (in + steals)
#    in the measuring window, median of N boots;
#  * run-queue lock contention under a send storm and the skew load (test=bench-locks),
#    on the default 4-core tree, each boot's lines;
#  * the hosted simulation of the Apple layouts (M1 4E+4P, M1 Pro 2E+8P): throughput
#    weighted by capacity against ideal (a pure function of its inputs: one run).
# No assertions here (the tests make those).  tools/bench-pe.sh [boots]  (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
make -s image >/dev/null
img=target/zbeam.img
dtb=${ZBEAM_TESTDATA:-../shared/testdata}/dtb/qemu-virt-hetero-smp4.dtb
boot() { # test-name [extra qemu args]
    local t=$1; shift
    MEM=512M TIMEOUT=300 tools/qemu-run "$img" -append "test=$t" "$@" </dev/null 2>&1 | tr -d '\r' || true
}
echo "P/E figures: zbeam kernel under QEMU TCG ($(qemu-system-aarch64 --version | head -1)), 2P+2E tree; median of $runs boots"
echo "command: tools/bench-pe.sh $runs"
for t in hetero-spin8 hetero-2h2l hetero-4h; do
    all=""
    for _ in $(seq "$runs"); do
        all+=$(boot "$t" -dtb "$dtb" | grep -E "^test $t: (core|after)")$'\n'
    done
    echo
    echo "load $t: per core, median of $runs boots"
    echo "| window | core | busy % | IPIs/s | wake-ups/s | empty wake-ups | migrations |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    # The 4-high test has a second window after the P processes end.
    awk -v t="$t" '
        /after the P processes ended/ { w[run] = 2; next }
        /core 0 \(/ && w[run] != 2 { run++; w[run] = 1 }
        /: core [0-9]/ {
            match($0, /core [0-9]+ \([PE]\)/); id = substr($0, RSTART + 5, RLENGTH - 5)
            match($0, /busy [0-9.]+%/); b = substr($0, RSTART + 5, RLENGTH - 6)
            match($0, /[0-9]+ IPIs\/s/); i = substr($0, RSTART, RLENGTH - 7)
            match($0, /\([0-9]+ wake-ups/); k = substr($0, RSTART + 1, RLENGTH - 10)
            match($0, /[0-9]+ found nothing/); e = substr($0, RSTART, RLENGTH - 14)
            match($0, /[0-9]+ migrations/); m = substr($0, RSTART, RLENGTH - 11)
            key = w[run] "|" id; keys[key] = 1
            n[key]++; B[key, n[key]] = b; I[key, n[key]] = i; K[key, n[key]] = k; E[key, n[key]] = e; M[key, n[key]] = m
        }
        function med(A, key, cnt,   v, j, x, y, tmp) {
            for (j = 1; j <= cnt; j++) v[j] = A[key, j] + 0
            for (x = 1; x <= cnt; x++) for (y = x + 1; y <= cnt; y++) if (v[y] < v[x]) { tmp = v[x]; v[x] = v[y]; v[y] = tmp }
            return v[int((cnt + 1) / 2)]
        }
        END {
            for (key in keys) {
                split(key, p, "|")
                printf "| %s | %s | %s | %s | %s | %s | %s |\n", (p[1] == 2 ? "after P ones end" : "steady"), p[2], med(B, key, n[key]), med(I, key, n[key]), med(K, key, n[key]), med(E, key, n[key]), med(M, key, n[key])
            }
        }' <<<"$all" | sort
done
echo
echo "run-queue locks (test=bench-locks, 4 cores, default tree), $runs boots:"
for _ in $(seq "$runs"); do
    boot bench-locks | grep "^bench locks"
done
echo
echo "hosted simulation of the Apple layouts (cargo test -p zbeam-sched --release --test apple):"
cargo test -q -p zbeam-sched --release --test apple -- --nocapture --test-threads=1 2>&1 | grep -E "throughput|^  core" || true
