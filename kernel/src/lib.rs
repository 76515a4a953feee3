//! The zbeam kernel (aarch64 only): bring-up, board drivers, console and the boot
//! prompt. Portable policy lives in `kernel/crates/`.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

#[path = "arch/aarch64/mod.rs"]
pub mod arch;
pub mod board;
pub mod bootargs;
pub mod console;
pub mod heap;
pub mod hooks;
pub mod init;
pub mod initrd;
pub mod interrupts;
pub mod ktest;
pub mod memory;
pub mod panic;
pub mod runtime;
pub mod start;
pub mod trace;
pub mod workload;
