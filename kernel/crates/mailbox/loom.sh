#!/bin/sh
# Loom model check of the mailbox (tests/loom.rs): explores thread interleavings of the queue and
# the wake-up protocol. Release build keeps it to well under a minute on two cores.
set -eu
cd "$(dirname "$0")"
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
exec cargo test -p zbeam-mailbox --release --test loom "$@"
