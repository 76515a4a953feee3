//! AArch64 architecture code: the boot stub, exception vectors, MMU, timer, CPU
//! primitives. Everything here is aarch64-only; portable policy lives in crates/.

pub mod cpu;
pub mod exception;
pub mod mmu;
pub mod timer;

core::arch::global_asm!(include_str!("../../../../boot/boot.S"));

extern "C" {
    static __image_start: u8;
    static __image_end: u8;
    static __boot_stack_start: u8;
    static __boot_stack_end: u8;
    static __stacks_start: u8;
    static __stacks_end: u8;
    fn _secondary_entry();
    fn _spin_entry();
}

/// The runtime address range of the whole image: text, data, .bss and stacks.
pub fn image_range() -> (usize, usize) {
    (core::ptr::addr_of!(__image_start) as usize, core::ptr::addr_of!(__image_end) as usize)
}

/// The size of each per-core stack slot (STACK_SIZE in linker.ld; boot.S's set_stack
/// shifts by 16). Its lowest page is the slot's guard page (`mmu::guard_pages`).
pub const STACK_SIZE: usize = 0x10000;

/// The runtime address range of the boot core's stack (core 0 keeps it for good).
pub fn boot_stack_range() -> (usize, usize) {
    (core::ptr::addr_of!(__boot_stack_start) as usize, core::ptr::addr_of!(__boot_stack_end) as usize)
}

/// The runtime address range of the per-core stacks (slot N for core N, slot 0 unused).
pub fn stacks_range() -> (usize, usize) {
    (core::ptr::addr_of!(__stacks_start) as usize, core::ptr::addr_of!(__stacks_end) as usize)
}

/// Physical address where secondary cores start (identity mapped, so also virtual).
pub fn secondary_entry_addr() -> u64 {
    _secondary_entry as *const () as usize as u64
}

/// Where spin-table cores start: they look up their logical id by MPIDR first.
pub fn spin_entry_addr() -> u64 {
    _spin_entry as *const () as usize as u64
}
