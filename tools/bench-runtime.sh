#!/usr/bin/env bash
# The kernel process runtime's two figures under QEMU (TCG), one boot each:
#  - scheduling overhead: `spin` in a bare loop on core 0 (the zbeam-z80 core driven
#    directly, no scheduler) against the same instruction count as 1 and as 8
#    processes bound to core 0 under the schedulers, alternated 3 times, best of each;
#  - the most concurrent Z80 processes with -m 2G, and the heap each costs.
# No assertions: it prints a table.   tools/bench-runtime.sh [image]
set -euo pipefail
cd "$(dirname "$0")/.."
img=${1:-target/zbeam.img}
[ "$#" -ge 1 ] || make -s image >/dev/null
boot() { # mem test
    MEM=$1 TIMEOUT=300 tools/qemu-run "$img" -append "test=$2" 2>&1 | tr -d '\r'
}
field() { grep "$1" <<<"$out" | head -1 | sed -E "s/$2/\1/"; }
out=$(boot 512M bench-runtime)
bare=$(field 'bare loop (no scheduler)' '.*: ([0-9.]+) MIPS.*')
one=$(field '1 process bound' '.*: ([0-9.]+) MIPS,.*')
one_r=$(field '1 process bound' '.*= ([0-9.]+)$')
eight=$(field '8 processes bound' '.*: ([0-9.]+) MIPS,.*')
eight_r=$(field '8 processes bound' '.*= ([0-9.]+)$')
all=$(field 'on all' '.*, ([0-9.]+) MIPS per core.*')
out=$(boot 2G bench-procs)
procs=$(field 'processes live' '.*: ([0-9]+) processes live.*')
stop=$(field 'processes live' '.*\(stopped: ([^)]*)\).*')
bytes=$(field 'bytes per process' '.*: ([0-9]+) bytes per process.*')
grow=$(field 'bytes per process' '.*, ([0-9]+) bytes each spawned.*')
echo "zbeam kernel process runtime under QEMU TCG ($(qemu-system-aarch64 --version | head -1)), 4 cores, GICv2"
echo "command: tools/bench-runtime.sh"
echo
echo "| figure | value | goal |"
echo "|---|---:|---:|"
echo "| spin in a bare loop on core 0, no scheduler | $bare MIPS | - |"
echo "| the same as 1 process bound to core 0 | $one MIPS (overhead ${one_r}x) | <= 1.05x |"
echo "| the same as 8 processes bound to core 0 | $eight MIPS (overhead ${eight_r}x) | <= 1.05x |"
echo "| 8 processes on all 4 cores, per core (4 vCPUs share the host's cores) | $all MIPS | - |"
echo "| concurrent Z80 processes with -m 2G (pong, waiting) | $procs (stopped: $stop) | >= 16,000 |"
echo "| heap per process: used / processes (growth per spawn) | $bytes B ($grow B) | - |"
