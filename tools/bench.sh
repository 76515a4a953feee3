#!/usr/bin/env bash
# `make bench`: the scheduler against BEAM (tools/bench-sched.sh), the scheduler's
# in-kernel figures under QEMU (tools/bench-kernel.sh), the dispatcher
# (tools/bench-dispatch.sh), then the Z80 part: zexdoc on zbeam's Z80 core and on the crates.io peer
# cores (tools/z80bench) and prints the comparison table. Arguments go to the bench
# binary (default: --runs 3); see `tools/bench.sh --help`. A full run takes several
# minutes on two cores: run nothing else heavy meanwhile, or the timings are noise.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bench-sched.sh || echo "bench: the scheduler part (tools/bench-sched.sh) failed" >&2
tools/bench-kernel.sh || echo "bench: the in-kernel part (tools/bench-kernel.sh) failed" >&2
tools/bench-runtime.sh || echo "bench: the kernel process runtime part (tools/bench-runtime.sh) failed" >&2
tools/bench-pe.sh || echo "bench: the P/E part (tools/bench-pe.sh) failed" >&2
tools/bench-dispatch.sh || echo "bench: the dispatcher part (tools/bench-dispatch.sh) failed" >&2

if [ "$#" -eq 0 ]; then
    set -- --runs 3
fi
# The bench prints this in its header, so a table records how it was made.
ZBEAM_BENCH_COMMAND="tools/bench.sh $*"
export ZBEAM_BENCH_COMMAND

exec cargo run --quiet --release -p zbeam-z80bench -- "$@"
