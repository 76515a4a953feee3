# zbeam — the commands a newcomer needs. `make help` lists them.
#
#   make qemu            build the Image and boot it on QEMU virt (4 cores, GICv2)
#       SMP=N            number of cores          GIC=3     GICv3 instead of GICv2
#       EL2=1            enter at EL2 (virtualization=on)   CPU=max   a core with VHE
#       DTB=file.dtb     boot with this device tree          APPEND="..." kernel args
#       INITRD=file.tar  programs to load (tools/mkinitrd.sh OUT.tar FILE.com...)
#   make test            host unit tests, Z80 exercisers, QEMU integration tests
#   make bench           benchmarks (side by side with peers), no assertions
#   make fuzz            longer fuzzing than make test (FUZZ_CASES=, FUZZ_RUNS=)
#   make soak MINUTES=n  QEMU churn of spawn/kill/link/monitor/restarts/floods
#   make image           just the flat arm64 Image (target/zbeam.img)
#   make m1n1            the payload to append to m1n1 for Apple Silicon Macs
#       M1N1_DTBS="..."  Apple device trees to include   M1N1_BOOTARGS="..." kernel args
#   make clippy | fmt | doc | gdb | clean

SHELL := /bin/bash
.DEFAULT_GOAL := help

KERNEL_TARGET := aarch64-unknown-none
KERNEL_ELF    := target/$(KERNEL_TARGET)/release/zbeam
IMAGE         := target/zbeam.img
TESTDATA      ?= $(abspath ../shared/testdata)
export ZBEAM_TESTDATA ?= $(TESTDATA)
# ZBEAM_SKIP_TESTDATA=1 runs `make test` without the shared data: the tests that need
# it are skipped, and the run ends by saying how many (listed in $(SKIP_LOG)).
export ZBEAM_SKIP_TESTDATA
SKIP_LOG      := $(abspath target/testdata-skipped.txt)
export ZBEAM_SKIP_LOG := $(SKIP_LOG)
export ZBEAM_IMAGE    ?= $(abspath $(IMAGE))
export SMP GIC EL2 CPU MEM DTB APPEND INITRD

.PHONY: fuzz soak help prereqs testdata test-summary image kernel qemu m1n1 test test-host test-loom test-z80 test-dispatch test-qemu bench clippy lint importgraph fmt doc gdb clean

help:
	@sed -n '2,15p' Makefile | sed 's/^# \{0,1\}//'

prereqs:
	@tools/prereqs.sh

kernel: prereqs
	cargo build --release -p zbeam-kernel --target $(KERNEL_TARGET)

$(IMAGE): kernel
	tools/objcopy.sh $(KERNEL_ELF) $(IMAGE)
	@echo "image: $(IMAGE) ($$(stat -c %s $(IMAGE)) bytes)"

image: $(IMAGE)

M1N1_PAYLOAD  := target/zbeam-m1n1-payload.bin
M1N1_DTBS     ?= $(wildcard $(ZBEAM_TESTDATA)/dtb/t8103-*.dtb $(ZBEAM_TESTDATA)/dtb/t600*.dtb)
M1N1_BOOTARGS ?= tick=1000

m1n1: image
	tools/m1n1-payload.sh $(IMAGE) $(M1N1_PAYLOAD) "$(M1N1_BOOTARGS)" $(M1N1_DTBS)

qemu: image
	@echo "Booting $(IMAGE) on QEMU virt (quit: Ctrl-A X)"
	tools/qemu-run $(IMAGE)

# Host unit tests of the portable crates and tools, then the Z80 exercisers (release:
# zexdoc/zexall run 5.8e9 instructions each), then kernels booted in QEMU.
test: testdata prereqs test-host test-loom test-z80 test-dispatch test-qemu
	@$(MAKE) --no-print-directory test-summary

# The shared test data must be there, unless the run opts out explicitly.
testdata:
	@mkdir -p target && rm -f $(SKIP_LOG)
	@if [ ! -d "$(ZBEAM_TESTDATA)" ]; then \
		if [ "$(ZBEAM_SKIP_TESTDATA)" = 1 ]; then \
			echo "make test: shared test data $(ZBEAM_TESTDATA) is missing; ZBEAM_SKIP_TESTDATA=1, so the tests that need it are skipped"; \
		else \
			echo "make test: shared test data folder $(ZBEAM_TESTDATA) not found (clone it beside the checkout as ../shared, set ZBEAM_TESTDATA=DIR, or ZBEAM_SKIP_TESTDATA=1 to skip the tests that need it)" >&2; \
			exit 1; \
		fi; \
	fi

test-summary:
	@n=$$(cat $(SKIP_LOG) 2>/dev/null | wc -l); \
	if [ "$$n" -gt 0 ]; then echo "make test: $$n tests skipped for missing test data (listed in $(SKIP_LOG))"; \
	else echo "make test: no test skipped for missing test data"; fi

# The host fuzz targets (proptest) run from a fixed seed here, so a failure in CI
# reproduces with the same command; `make fuzz` draws new seeds and runs far more cases.
PROPTEST_RNG_SEED ?= 1202

test-host:
	PROPTEST_RNG_SEED=$(PROPTEST_RNG_SEED) cargo test --workspace --exclude zbeam-kernel --exclude zbeam-z80bench --exclude zbeam-qemu-tests \
		--exclude zbeam-z80 --exclude zbeam-dispatch

# Model-checks with loom (exhaustive interleavings, bounded): the lock-free mailbox, the
# scheduler's process state word with its run-queue hand-offs, and the engine's wait, wake-up
# and timeout races.
test-loom:
	CARGO_TARGET_DIR=$(CURDIR)/target/loom kernel/crates/mailbox/loom.sh
	CARGO_TARGET_DIR=$(CURDIR)/target/loom kernel/crates/sched/loom.sh
	CARGO_TARGET_DIR=$(CURDIR)/target/loom kernel/crates/engine/loom.sh

test-z80:
	cargo test --release -p zbeam-z80

# The dispatcher (kernel/crates/dispatch) in release mode: its suite, prelim and the first
# zexdoc test run through it many times and must end bit-exact with the sequential run.
test-dispatch:
	cargo test --release -p zbeam-dispatch

test-qemu: image
	cargo test -p zbeam-qemu-tests -- --test-threads=1

# Longer fuzzing than `make test`, outside CI (tools/fuzz.sh says what it runs).
fuzz: image
	tools/fuzz.sh

# QEMU churn for MINUTES minutes (default 10) with the shell answering throughout;
# `make test` runs the same test for 60 s.
MINUTES ?= 10
soak: image
	SOAK_SECONDS=$$(( $(MINUTES) * 60 )) cargo test -p zbeam-qemu-tests --test soak -- --nocapture

bench:
	tools/prereqs.sh bench
	tools/bench.sh

clippy: prereqs
	cargo clippy --workspace --exclude zbeam-kernel --all-targets -- -D warnings
	cargo clippy -p zbeam-kernel --target $(KERNEL_TARGET) -- -D warnings

fmt:
	cargo fmt --all

# What CI checks besides the tests: formatting and clippy (-D warnings) for the host
# crates and the kernel target, and that no files of kernel/src import each other in a
# circle (tools/importgraph; `cargo run -p zbeam-importgraph -- kernel/src/lib.rs --dot`
# draws the graph).
lint: clippy importgraph
	cargo fmt --all --check

importgraph:
	cargo run -q -p zbeam-importgraph -- kernel/src/lib.rs

doc:
	cargo doc --no-deps -p zbeam-kernel --target $(KERNEL_TARGET)
	cargo doc --no-deps --workspace --exclude zbeam-kernel

gdb: image
	@echo "QEMU waits for gdb on :1234 (gdb-multiarch $(KERNEL_ELF), target remote :1234)"
	tools/qemu-run $(IMAGE) -s -S

clean:
	cargo clean
