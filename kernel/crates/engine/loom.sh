#!/bin/sh
# Loom model check of the wait, wake-up and timeout races (tests/loom_wait.rs): the engine's
# wait protocol (src/waiting.rs) with the real scheduler, timer wheel and mailbox, their
# atomics and locks switched to loom's models. Release build keeps it short on two cores.
set -eu
cd "$(dirname "$0")"
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
exec cargo test -p zbeam-engine --release --test loom_wait "$@"
