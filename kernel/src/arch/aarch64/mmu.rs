//! Identity-mapped translation tables for EL1 (4 KiB granule, 48-bit VA).
//!
//! Two table sets exist. The *boot* set is built with the MMU still off, before the
//! device tree can be parsed safely (with the MMU off every access is Device memory,
//! where unaligned accesses fault): every 1 GiB block is Device-nGnRnE except the
//! blocks holding the kernel image and the DTB, which are Normal write-back. Once the
//! tree is parsed the *kernel* set maps exactly the RAM ranges it lists as Normal
//! write-back inner-shareable (2 MiB granularity at the edges) and everything else as
//! Device-nGnRnE, and every core runs on it.
//!
//! The kernel set also leaves one 4 KiB *guard page* unmapped at the bottom of every
//! per-core stack (see [`guard_pages`]): the 2 MiB blocks that hold the stacks are
//! split into level-3 tables of 4 KiB pages, so a stack that grows past its end takes
//! a translation fault instead of writing over the memory below it. The exception
//! vectors recognise such a fault (`exception.rs`) and report a stack overflow.
//!
//! Coverage is the first 2 TiB of physical address space (four level-1 tables), which
//! holds QEMU virt (RAM at 1 GiB) and Apple M1 (0x8_0000_0000) and M1 Pro/Max
//! (0x100_0000_0000) RAM and MMIO.
//!
//! ARM ARM DDI 0487: D8.3 (translation table descriptors), D8.2.5 (memory attributes,
//! MAIR_EL1), D17.2.131 (TCR_EL1), D5.9 (TLB maintenance, break-before-make), D8.3.2
//! (level-3 page descriptors).

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{Readable, Writeable, ID_AA64MMFR0_EL1, MAIR_EL1, SCTLR_EL1, TCR_EL1, TTBR0_EL1};
use core::cell::UnsafeCell;

const ENTRIES: usize = 512;
const L1_TABLES: usize = 4;
const L2_TABLES: usize = 24;
/// Level-3 tables for the 2 MiB blocks that hold guard pages: the boot stack (512 KiB)
/// and the per-core stacks (4 MiB) are contiguous, so they touch at most 4 blocks.
const L3_TABLES: usize = 4;
/// The size of a page, and of a guard page.
pub const PAGE: u64 = 4096;
const GIB: u64 = 1 << 30;
const MIB2: u64 = 2 << 20;
/// The physical address range the tables can describe.
pub const COVERED: u64 = L1_TABLES as u64 * 512 * GIB;

const VALID: u64 = 1;
const TABLE: u64 = 0b11;
const BLOCK: u64 = 0b01;
const PAGE_DESC: u64 = 0b11; // a level-3 page descriptor
const ATTR_DEVICE: u64 = 0 << 2; // MAIR index 0
const ATTR_NORMAL: u64 = 1 << 2; // MAIR index 1
const SH_INNER: u64 = 0b11 << 8;
const AF: u64 = 1 << 10;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;

const DEVICE_BLOCK: u64 = BLOCK | ATTR_DEVICE | AF | PXN | UXN;
const NORMAL_BLOCK: u64 = BLOCK | ATTR_NORMAL | SH_INNER | AF | UXN;

/// MAIR_EL1: attr0 = Device-nGnRnE (0x00), attr1 = Normal, inner and outer
/// write-back read/write-allocate (0xff).
const MAIR: u64 = 0xff << 8;

/// SCTLR_EL1 with the MMU and both caches on: RES1 bits, M, C, SA, I.
const SCTLR_ON: u64 = 0x30d0_0800 | 1 | (1 << 2) | (1 << 3) | (1 << 12);

#[repr(C, align(4096))]
struct Table([u64; ENTRIES]);

#[repr(C)]
struct TableSet {
    l0: Table,
    l1: [Table; L1_TABLES],
    l2: [Table; L2_TABLES],
    l2_used: usize,
    l3: [Table; L3_TABLES],
    l3_used: usize,
}

/// A table set in .bss. Written only by the boot core before any other core uses it.
struct Tables(UnsafeCell<TableSet>);
// SAFETY: each set is written only by the boot core during bring-up, strictly before
// any other core loads it into TTBR0 (the release of secondaries orders the writes).
unsafe impl Sync for Tables {}

// Zero-initialised: they live in .bss, which the boot stub clears.
static BOOT_TABLES: Tables = Tables(UnsafeCell::new(TableSet::EMPTY));
static KERNEL_TABLES: Tables = Tables(UnsafeCell::new(TableSet::EMPTY));

/// Errors while building the kernel map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// A RAM range lies (partly) beyond [`COVERED`]; the part beyond is left unmapped.
    BeyondCoverage,
    /// More partial 1 GiB blocks than level-2 tables, or more 2 MiB blocks with guard
    /// pages than level-3 tables.
    OutOfTables,
    /// A guard page lies outside the RAM the tables map as Normal memory.
    GuardNotInRam,
}

impl TableSet {
    const EMPTY: TableSet = TableSet {
        l0: Table([0; ENTRIES]),
        l1: [const { Table([0; ENTRIES]) }; L1_TABLES],
        l2: [const { Table([0; ENTRIES]) }; L2_TABLES],
        l2_used: 0,
        l3: [const { Table([0; ENTRIES]) }; L3_TABLES],
        l3_used: 0,
    };

    /// Device everywhere within coverage.
    fn reset_device(&mut self) {
        self.l2_used = 0;
        self.l3_used = 0;
        self.l0.0.iter_mut().for_each(|e| *e = 0);
        for i in 0..L1_TABLES {
            let l1_addr = &self.l1[i] as *const Table as u64;
            self.l0.0[i] = l1_addr | TABLE;
            for (j, e) in self.l1[i].0.iter_mut().enumerate() {
                *e = ((i * ENTRIES + j) as u64 * GIB) | DEVICE_BLOCK;
            }
        }
    }

    /// Maps [start, end) as Normal memory, shrunk inwards to 2 MiB boundaries.
    fn map_normal(&mut self, start: u64, end: u64) -> Result<(), MapError> {
        let mut result = Ok(());
        let end = if end > COVERED {
            result = Err(MapError::BeyondCoverage);
            COVERED
        } else {
            end
        };
        let mut addr = start.next_multiple_of(MIB2);
        let end = end & !(MIB2 - 1);
        while addr < end {
            let gib = addr / GIB;
            let (i, j) = ((gib as usize) / ENTRIES, (gib as usize) % ENTRIES);
            if addr.is_multiple_of(GIB) && end - addr >= GIB {
                self.l1[i].0[j] = addr | NORMAL_BLOCK;
                addr += GIB;
                continue;
            }
            let l2 = self.l2_for(addr)?;
            let k = ((addr % GIB) / MIB2) as usize;
            // SAFETY: `l2` points into this table set (one of `self.l2`), which we
            // hold exclusively through `&mut self`.
            unsafe { (*l2).0[k] = addr | NORMAL_BLOCK };
            addr += MIB2;
        }
        result
    }

    /// The level-2 table under the 1 GiB block holding `addr` (< [`COVERED`]); a block
    /// descriptor is first split into 512 2 MiB blocks with the same attributes.
    fn l2_for(&mut self, addr: u64) -> Result<*mut Table, MapError> {
        let gib = addr / GIB;
        let (i, j) = ((gib as usize) / ENTRIES, (gib as usize) % ENTRIES);
        let entry = self.l1[i].0[j];
        if entry & 0b11 == TABLE {
            return Ok((entry & ADDR_MASK) as *mut Table);
        }
        if self.l2_used == L2_TABLES {
            return Err(MapError::OutOfTables);
        }
        let t = &mut self.l2[self.l2_used];
        self.l2_used += 1;
        let attrs = entry & !ADDR_MASK;
        for (k, e) in t.0.iter_mut().enumerate() {
            *e = (gib * GIB + k as u64 * MIB2) | attrs;
        }
        let p = t as *mut Table;
        self.l1[i].0[j] = p as u64 | TABLE;
        Ok(p)
    }

    /// Unmaps the 4 KiB page at `addr` (page aligned, in a 2 MiB block mapped as Normal
    /// memory), splitting that block into a level-3 table of pages first.
    fn unmap_page(&mut self, addr: u64) -> Result<(), MapError> {
        if addr >= COVERED || leaf_attrs(self.leaf(addr)) != Some(ATTR_NORMAL) {
            return Err(MapError::GuardNotInRam);
        }
        let l2 = self.l2_for(addr)?;
        let k = ((addr % GIB) / MIB2) as usize;
        // SAFETY: `l2` points into this set (one of `self.l2`), held through `&mut self`.
        let entry = unsafe { (*l2).0[k] };
        let l3 = if entry & 0b11 == TABLE {
            (entry & ADDR_MASK) as *mut Table
        } else {
            if self.l3_used == L3_TABLES {
                return Err(MapError::OutOfTables);
            }
            let t = &mut self.l3[self.l3_used];
            self.l3_used += 1;
            let base = addr & !(MIB2 - 1);
            let attrs = (entry & !ADDR_MASK) & !0b11;
            for (n, e) in t.0.iter_mut().enumerate() {
                *e = (base + n as u64 * PAGE) | attrs | PAGE_DESC;
            }
            let p = t as *mut Table;
            // SAFETY: as above; these tables are not live on any core yet.
            unsafe { (*l2).0[k] = p as u64 | TABLE };
            p
        };
        // SAFETY: `l3` points at one of this set's own level-3 tables.
        unsafe { (*l3).0[((addr % MIB2) / PAGE) as usize] = 0 };
        Ok(())
    }

    /// The leaf descriptor (block or page) that maps `addr` (< [`COVERED`]).
    fn leaf(&self, addr: u64) -> u64 {
        let gib = (addr / GIB) as usize;
        let mut e = self.l1[gib / ENTRIES].0[gib % ENTRIES];
        if e & 0b11 == TABLE {
            let l2 = (e & ADDR_MASK) as *const Table;
            // SAFETY: table descriptors point at this set's own level-2 tables.
            e = unsafe { (*l2).0[((addr % GIB) / MIB2) as usize] };
            if e & 0b11 == TABLE {
                let l3 = (e & ADDR_MASK) as *const Table;
                // SAFETY: and level-2 table descriptors at its own level-3 tables.
                e = unsafe { (*l3).0[((addr % MIB2) / PAGE) as usize] };
            }
        }
        e
    }

    fn root(&self) -> u64 {
        &self.l0 as *const Table as u64
    }
}

/// The guard pages: the lowest page of the boot core's stack and of every per-core
/// stack slot (the stacks grow down, so an overflow reaches its guard first).
pub fn guard_pages() -> impl Iterator<Item = usize> {
    let boot = super::boot_stack_range().0;
    let (start, end) = super::stacks_range();
    core::iter::once(boot).chain((start..end).step_by(super::STACK_SIZE))
}

/// Whether `addr` lies in one of the [`guard_pages`].
pub fn is_guard_page(addr: u64) -> bool {
    guard_pages().any(|g| (g as u64..g as u64 + PAGE).contains(&addr))
}

/// The register values a core loads to turn its MMU on.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct MmuConfig {
    /// TTBR0_EL1.
    pub ttbr0: u64,
    /// TCR_EL1.
    pub tcr: u64,
}

fn tcr() -> u64 {
    // T0SZ = 16 (48-bit VA), IRGN0/ORGN0 = write-back write-allocate, SH0 = inner
    // shareable, TG0 = 4 KiB, EPD1 = 1 (no TTBR1 walks), IPS = the implemented PA size.
    let ips = ID_AA64MMFR0_EL1.read(ID_AA64MMFR0_EL1::PARange).min(5);
    16 | (1 << 8) | (1 << 10) | (0b11 << 12) | (1 << 23) | (ips << 32)
}

/// Builds the boot table set: Device everywhere, Normal for the 1 GiB blocks that
/// hold `normal` ranges (the kernel image and the DTB). Runs with the MMU off.
///
/// # Safety
/// Only the boot core may call this, once, before any core uses the boot tables.
pub unsafe fn build_boot_tables(normal: &[(u64, u64)]) -> MmuConfig {
    // SAFETY: the caller guarantees exclusive access during early boot.
    let set = unsafe { &mut *BOOT_TABLES.0.get() };
    set.reset_device();
    for &(start, end) in normal {
        let s = start & !(GIB - 1);
        let e = end.next_multiple_of(GIB);
        // Best effort: a range beyond coverage cannot be helped this early.
        let _ = set.map_normal(s, e);
    }
    MmuConfig { ttbr0: set.root(), tcr: tcr() }
}

/// Builds the kernel table set from the RAM ranges of the device tree, with the stack
/// guard pages ([`guard_pages`]) left unmapped.
///
/// # Safety
/// Only the boot core may call this, before secondaries are started.
pub unsafe fn build_kernel_tables(ram: impl Iterator<Item = (u64, u64)>) -> (MmuConfig, Result<(), MapError>) {
    // SAFETY: the caller guarantees exclusive access; no core runs on these tables yet.
    let set = unsafe { &mut *KERNEL_TABLES.0.get() };
    set.reset_device();
    let mut result = Ok(());
    for (start, end) in ram {
        if let Err(e) = set.map_normal(start, end) {
            result = Err(e);
        }
    }
    for page in guard_pages() {
        if let Err(e) = set.unmap_page(page as u64) {
            result = Err(e);
        }
    }
    (MmuConfig { ttbr0: set.root(), tcr: tcr() }, result)
}

/// Whether `addr` lies in memory the kernel tables map as Normal RAM.
pub fn is_normal_ram(addr: u64) -> bool {
    if addr >= COVERED {
        return false;
    }
    // SAFETY: read-only walk of tables that are no longer written once built.
    let set = unsafe { &*KERNEL_TABLES.0.get() };
    leaf_attrs(set.leaf(addr)) == Some(ATTR_NORMAL)
}

/// The memory attribute index of a valid leaf descriptor; None for an invalid one.
fn leaf_attrs(leaf: u64) -> Option<u64> {
    (leaf & VALID != 0).then_some(leaf & (0b111 << 2))
}

/// Turns the MMU on (or switches tables if it is already on) on this core.
///
/// # Safety
/// `cfg` must describe valid tables that identity-map the running code, its stack
/// and all data it touches.
pub unsafe fn enable(cfg: &MmuConfig) {
    MAIR_EL1.set(MAIR);
    TCR_EL1.set(cfg.tcr);
    TTBR0_EL1.set(cfg.ttbr0);
    barrier::isb(barrier::SY);
    // SAFETY: TLB maintenance has no memory-safety effect; it drops stale entries
    // from before this core used these tables.
    unsafe { core::arch::asm!("tlbi vmalle1", "dsb nsh", "isb", options(nostack)) };
    SCTLR_EL1.set(SCTLR_ON);
    barrier::isb(barrier::SY);
}

/// The smallest data cache line size (CTR_EL0.DminLine, in words).
fn dcache_line() -> usize {
    let ctr: u64;
    // SAFETY: reading an ID register has no side effects.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    4usize << ((ctr >> 16) & 0xf)
}

/// Cleans the data cache lines covering [addr, addr + len) to the point of
/// coherency, so a core with its MMU (and so its caches) still off reads them.
pub fn clean_to_poc(addr: usize, len: usize) {
    let line = dcache_line();
    let mut p = addr & !(line - 1);
    while p < addr + len {
        // SAFETY: DC CVAC on a mapped address only writes back cache contents.
        unsafe { core::arch::asm!("dc cvac, {}", in(reg) p, options(nostack)) };
        p += line;
    }
    // SAFETY: barrier only.
    unsafe { core::arch::asm!("dsb sy", options(nostack)) };
}

/// Invalidates the data cache lines covering [addr, addr + len) (MMU off, before the
/// first cacheable use, so stale lines left by a loader cannot shadow what we wrote).
pub fn invalidate_to_poc(addr: usize, len: usize) {
    let line = dcache_line();
    let mut p = addr & !(line - 1);
    while p < addr + len {
        // SAFETY: DC IVAC on memory whose current contents were written with the
        // MMU off (straight to memory); discarding cached copies loses nothing.
        unsafe { core::arch::asm!("dc ivac, {}", in(reg) p, options(nostack)) };
        p += line;
    }
    // SAFETY: barrier only.
    unsafe { core::arch::asm!("dsb sy", options(nostack)) };
}
