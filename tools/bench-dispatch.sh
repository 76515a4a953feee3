#!/usr/bin/env bash
# `make bench`, the dispatcher's part (docs/DISPATCHER.md): the program suite of
# programs/dispatch on the cost model for 2..64 instances, hosted on 2 threads
# (sequential vs dispatcher, squash rate, overhead, bit-exactness), and the learning
# curve over 20 runs sharing a persisted policy, drawn to docs/dispatcher-learning.svg.
# Prints Markdown tables (recorded in BENCHMARKS.md). Arguments go to dispatch-bench
# (default: --runs 3 --scale 20 --curve 20). Takes a few minutes on two idle cores.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -eq 0 ]; then
    set -- --runs 3 --scale 20 --curve 20
fi
cargo build --quiet --release -p zbeam-z80run
echo "## Dispatcher (tools/bench-dispatch.sh $*)"
echo
exec target/release/dispatch-bench --svg docs/dispatcher-learning.svg "$@"
