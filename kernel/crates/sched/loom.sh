#!/bin/sh
# Loom model check of the scheduler (tests/loom.rs): the process state word and the run-queue
# hand-offs, through the public API, with the crate's atomics and queue locks switched to
# loom's models. Release build keeps it short on two cores.
set -eu
cd "$(dirname "$0")"
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
exec cargo test -p zbeam-sched --release --test loom "$@"
