//! The Z80 programs built into zbeam: `programs/*.asm`, assembled by pasmo (a real
//! Z80 assembler from Debian) when the crate is built. Image numbers follow the
//! sorted file names; each has a constant (`SPIN`, `RING`, ...).
//!
//! And what runs them, shared by the kernel, the hosted runtime and the host tests:
//! * [`workloads`]: the one home of the native workload controllers (ring, timers,
//!   the bench rows) and the kernel's default system workload;
//! * [`abi_suite`] and [`contain_suite`]: the system-interface and containment
//!   suites, run on the host and in QEMU;
//! * [`slot`]: the result slot a controller fills.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod abi_suite;
pub mod contain_suite;
pub mod slot;
pub mod workloads;

use zbeam_engine::Image;

include!(concat!(env!("OUT_DIR"), "/images.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_assembled_and_numbered_by_name() {
        assert!(IMAGES.len() >= 4);
        assert!(IMAGES.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(IMAGES[SPIN].name, "spin");
        assert_eq!(IMAGES[RING].name, "ring");
        for img in IMAGES {
            assert!(!img.bytes.is_empty(), "{} is empty", img.name);
            assert!(img.bytes.len() <= zbeam_engine::abi::MAX_IMAGE, "{} too large", img.name);
        }
    }
}
