#!/usr/bin/env bash
# `make bench`, scheduler part: zbeam's hosted runtime (2 core threads) against
# Erlang/OTP's BEAM on the same workloads (ring, spawn, ping-pong, skewed load,
# timers); prints one table with both figures and the ratio. Arguments go to the
# bench binary (default: --runs 5); `tools/bench-sched.sh --quick` is a smoke run.
# Needs erl/erlc (Debian erlang-nox; installed here with apt-get when missing and
# we are root or have sudo). Takes a few minutes; run nothing else heavy meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v erl >/dev/null 2>&1 || ! command -v erlc >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bench-sched: installing erlang-nox with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends erlang-nox >&2
    elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        echo "bench-sched: installing erlang-nox with sudo apt-get" >&2
        sudo apt-get update -qq >&2
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends erlang-nox >&2
    else
        echo "bench-sched: erl not found and cannot install erlang-nox; the BEAM column will be empty" >&2
    fi
fi

if [ "$#" -eq 0 ]; then
    set -- --runs 5
fi
ZBEAM_BENCH_COMMAND="tools/bench-sched.sh $*"
export ZBEAM_BENCH_COMMAND

exec cargo run --quiet --release -p zbeam-hosted --bin beambench -- "$@"
