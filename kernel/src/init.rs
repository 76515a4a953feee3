//! Bring-up, from the boot stub's hand-over to a running system on every core.
//!
//! `zbeam_primary_entry` (unsafe shell) builds the boot page tables with the MMU off,
//! turns the MMU on, and hands over to [`kernel_main`], which parses the device tree,
//! starts the console, maps RAM precisely, starts the heap, the interrupt controller
//! and the tick, and then every other core. `zbeam_secondary_entry` is the same path
//! for the other cores, on the kernel tables the boot core built.

use crate::arch::{self, cpu, exception, mmu, timer};
use crate::board::{self, psci, CORES, MAX_CORES, ONLINE};
use crate::console::{self, UartDevice};
use crate::memory::Ranges;
use crate::{bootargs, println};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};
use zbeam_devtree::{EnableMethod, Platform, UartKind};

/// The kernel's version, as printed in the banner.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where QEMU virt puts its PL011: used only to report a device tree that cannot be
/// parsed, before any console is known.
const FALLBACK_PL011: usize = 0x0900_0000;

/// Boot facts printed in the banner and by the console.
pub struct BootInfo {
    /// Entry exception level: 1, 2, or 0x12 for EL2 with E2H = 1.
    pub entry_el: u64,
    /// Counter value when the boot core reached Rust.
    pub start_counter: u64,
}

struct SharedMmu(UnsafeCell<mmu::MmuConfig>);
// SAFETY: written once by the boot core before any secondary starts, then cleaned to
// the point of coherency; secondaries only read it.
unsafe impl Sync for SharedMmu {}
static KERNEL_MMU: SharedMmu = SharedMmu(UnsafeCell::new(mmu::MmuConfig { ttbr0: 0, tcr: 0 }));

static ENTRY_EL: AtomicU64 = AtomicU64::new(0);
static START_COUNTER: AtomicU64 = AtomicU64::new(0);

/// How the boot went, for the banner and the console.
pub fn boot_info() -> BootInfo {
    BootInfo { entry_el: ENTRY_EL.load(Ordering::Relaxed), start_counter: START_COUNTER.load(Ordering::Relaxed) }
}

/// Describes an entry EL value as the banner prints it.
pub fn describe_el(el: u64) -> &'static str {
    match el {
        1 => "EL1",
        2 => "EL2 (no VHE) -> EL1",
        0x12 => "EL2 (VHE, E2H=1) -> EL1",
        _ => "unknown",
    }
}

/// Boot core entry from boot.S, MMU off, on core 0's stack.
///
/// # Safety
/// Called exactly once by the boot stub with the DTB address, the entry EL and the
/// image's load address.
#[no_mangle]
pub unsafe extern "C" fn zbeam_primary_entry(dtb: usize, el: u64, base: usize) -> ! {
    START_COUNTER.store(cpu::counter(), Ordering::Relaxed);
    let (_, end) = arch::image_range();
    // SAFETY: MMU off, single core: the boot tables are ours alone.
    let boot = unsafe { mmu::build_boot_tables(&[(base as u64, end as u64), (dtb as u64, dtb as u64 + (2 << 20))]) };
    // Everything written so far went straight to memory; drop any stale cache lines
    // a loader may have left before caches are enabled.
    mmu::invalidate_to_poc(base, end - base);
    // SAFETY: the boot tables identity-map the image (code, data, stacks) and the DTB.
    unsafe { mmu::enable(&boot) };
    exception::install();
    cpu::set_core_id(0);
    ENTRY_EL.store(el, Ordering::Relaxed);
    kernel_main(dtb)
}

/// Secondary core entry from boot.S, MMU off, on its own stack.
///
/// # Safety
/// Called by the boot stub on a core started by [`start_secondaries`], with its
/// logical id.
#[no_mangle]
pub unsafe extern "C" fn zbeam_secondary_entry(core: usize, _el: u64) -> ! {
    // SAFETY: KERNEL_MMU was written and cleaned to PoC before this core was started.
    let cfg = unsafe { core::ptr::read_volatile(KERNEL_MMU.0.get()) };
    // SAFETY: the kernel tables identity-map all RAM, including this stack.
    unsafe { mmu::enable(&cfg) };
    exception::install();
    cpu::set_core_id(core);
    secondary_main(core)
}

fn early_fail(msg: core::fmt::Arguments<'_>) -> ! {
    // With no console from the tree, fall back to QEMU virt's PL011, but never on an
    // Apple core (MIDR implementer 0x61), where that address is not a UART.
    if console::device() == UartDevice::None && !cpu::is_apple() {
        console::set_device(UartDevice::Pl011(FALLBACK_PL011));
    }
    println!("zbeam: cannot boot: {msg}");
    crate::panic::finish(3)
}

fn kernel_main(dtb: usize) -> ! {
    // The device tree.
    // SAFETY: the boot tables map at least 2 MiB from `dtb` as Normal memory; the
    // header is 40 bytes.
    let header = unsafe { core::slice::from_raw_parts(dtb as *const u8, 40) };
    let total = match zbeam_devtree::header_total_size(header) {
        Ok(n) if n <= 2 << 20 => n,
        Ok(n) => early_fail(format_args!("device tree at {dtb:#x} claims {n} bytes (over 2 MiB)")),
        Err(e) => early_fail(format_args!("no device tree at {dtb:#x}: {e}")),
    };
    // SAFETY: as above; `total` is within the mapped 2 MiB.
    let blob = unsafe { core::slice::from_raw_parts(dtb as *const u8, total) };
    let platform = match zbeam_devtree::parse(blob) {
        Ok(p) => p,
        Err(e) => early_fail(format_args!("device tree at {dtb:#x}: {e}")),
    };
    // A test boot ends QEMU even when bring-up fails below.
    let test_boot = bootargs::get(platform.bootargs.as_str(), "test").is_some();
    if test_boot {
        crate::panic::enable_qemu_exit();
    }
    if let Some(c) = platform.console {
        match c.kind {
            UartKind::Pl011 => console::set_device(UartDevice::Pl011(c.regs.base.0 as usize)),
            UartKind::AppleS5l => console::set_device(UartDevice::AppleS5l(c.regs.base.0 as usize)),
        }
    }
    if console::device() == UartDevice::None {
        early_fail(format_args!(
            "{}",
            platform.console_error().map_or("console has no driver", |_| "no usable console")
        ));
    }
    if let Err(e) = platform.validate() {
        early_fail(format_args!("{e}"));
    }
    let args = platform.bootargs;
    let args = args.as_str();
    let test = bootargs::get(args, "test");

    // Precise memory map: RAM minus no-map reservations, Normal; all else Device.
    let mut ram = Ranges::new();
    for r in platform.memory.iter() {
        ram.push((r.base.0, r.end().unwrap_or(u64::MAX)));
    }
    for r in platform.reserved.iter() {
        if matches!(r.kind, zbeam_devtree::ReservedKind::ReservedMemory { no_map: true }) {
            ram.subtract((r.region.base.0, r.region.end().unwrap_or(u64::MAX)));
        }
    }
    // SAFETY: single core; nothing runs on the kernel tables yet.
    let (kcfg, map_result) = unsafe { mmu::build_kernel_tables(ram.iter()) };
    let (img_start, img_end) = arch::image_range();
    for (what, a) in [("kernel image", img_start), ("kernel end", img_end - 1), ("device tree", dtb)] {
        if !mmu::is_normal_ram(a as u64) {
            early_fail(format_args!("{what} at {a:#x} is not in RAM the device tree lists"));
        }
    }
    // SAFETY: the kernel tables map the image, stacks and DTB (checked just above).
    unsafe {
        KERNEL_MMU.0.get().write(kcfg);
        mmu::enable(&kcfg);
    }
    mmu::clean_to_poc(KERNEL_MMU.0.get() as usize, core::mem::size_of::<mmu::MmuConfig>());

    // The initrd, if any: checked now, kept out of the heap, read once the heap is up.
    let taken =
        [("kernel image", (img_start as u64, img_end as u64)), ("device tree", (dtb as u64, (dtb + total) as u64))];
    let initrd = crate::initrd::check(&platform, &ram, &taken);

    // Heap: the largest RAM range left after the image, the DTB, the initrd and reservations.
    let mut free = ram;
    free.subtract((img_start as u64, img_end as u64));
    free.subtract((dtb as u64, (dtb + total) as u64));
    if let Ok(Some(rd)) = initrd {
        free.subtract((rd.start, rd.end));
    }
    for r in platform.reserved.iter() {
        free.subtract((r.region.base.0, r.region.end().unwrap_or(u64::MAX)));
    }
    let Some((hs, he)) = free.largest().map(|(s, e)| (s.next_multiple_of(4096), e & !4095)).filter(|(s, e)| e > s)
    else {
        early_fail(format_args!("no free RAM for the heap"));
    };
    // SAFETY: [hs, he) is RAM mapped Normal that nothing else uses (subtracted above).
    unsafe { crate::heap::init(hs as usize, (he - hs) as usize) };

    // Interrupts and the tick on this core.
    let machine = match board::init(platform, cpu::mpidr()) {
        Ok(m) => m,
        Err(e) => early_fail(format_args!("{e}")),
    };
    let hz = bootargs::get(args, "tick")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&h| (1..=10_000).contains(&h))
        .unwrap_or(1000);
    timer::set_rate(hz);
    board::irq::set_handler(&crate::interrupts::KERNEL);
    if let Err(e) = machine.init_core_interrupts(0) {
        early_fail(format_args!("{e}"));
    }
    timer::start();
    cpu::irq_enable();

    let p = &machine.platform;
    println!();
    println!("zbeam {VERSION} (aarch64) on {} \"{}\"", board_name(p), p.model.as_str());
    println!("  entry       {}", describe_el(ENTRY_EL.load(Ordering::Relaxed)));
    for r in p.memory.iter() {
        println!("  memory      {:#x}..{:#x} ({} MiB)", r.base.0, r.end().unwrap_or(0), r.size >> 20);
    }
    if let Err(e) = map_result {
        println!("  memory      warning: {e:?}: some RAM is left unmapped");
    }
    println!("  heap        {} MiB at {:#x}", (he - hs) >> 20, hs);
    println!("  irq         {}", describe_irq(p));
    match machine.timer_intid {
        Some(id) => println!("  timer       {} Hz counter, {} Hz tick, INTID {id}", cpu::counter_hz(), hz),
        None => println!("  timer       {} Hz counter, {} Hz tick, FIQ", cpu::counter_hz(), hz),
    }
    println!("  psci        {:?}", p.psci);
    println!("  bootargs    \"{}\"", args);
    match initrd {
        Ok(Some(rd)) => crate::initrd::load(rd),
        Ok(None) => {}
        Err(e) => println!("  initrd      not used: {e}; booting with the built-in images"),
    }
    println!("  cpus        {} in the device tree, classes {}", p.cpu_count(), p.classes().as_str());
    report_online(0);

    start_secondaries(machine);
    let online = ONLINE.load(Ordering::Acquire);
    println!("cores online: {online} of {}", machine.cores);
    let ms = cpu::ticks_to_us(cpu::counter()) / 1000;
    println!("boot: ready after {ms} ms of counter time");

    crate::workload::set_enabled(bootargs::get(args, "workload") != Some("off"));
    if let Some(bytes) = bootargs::get(args, "slotheap").and_then(|v| v.parse().ok()) {
        crate::runtime::set_heap_per_slot(bytes);
    }
    crate::start::primary(test)
}

fn board_name(p: &Platform) -> &'static str {
    match p.board {
        zbeam_devtree::Board::QemuVirt => "QEMU virt",
        zbeam_devtree::Board::Apple => "Apple",
        zbeam_devtree::Board::Unknown => "unknown board",
    }
}

fn describe_irq(p: &Platform) -> impl core::fmt::Display + '_ {
    struct D<'a>(&'a Platform);
    impl core::fmt::Display for D<'_> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            match self.0.interrupt_controller {
                Some(zbeam_devtree::InterruptController::GicV2 { gicd, gicc }) => {
                    write!(f, "GICv2 (GICD {}, GICC {})", gicd.base, gicc.base)
                }
                Some(zbeam_devtree::InterruptController::GicV3 { gicd, gicr, .. }) => {
                    write!(f, "GICv3 (GICD {}, GICR {} size {:#x})", gicd.base, gicr.base, gicr.size)
                }
                Some(other) => write!(f, "{other:?}"),
                None => f.write_str("none"),
            }
        }
    }
    D(p)
}

/// Marks `core` online and prints its line.
fn report_online(core: usize) {
    let Some(m) = board::machine() else { return };
    let c = m.cpu(core);
    let class = match c.class {
        zbeam_devtree::CoreClass::Performance => 'P',
        zbeam_devtree::CoreClass::Efficiency => 'E',
    };
    println!(
        "core {core} online: mpidr {:#x}, class {class}, capacity {}, cluster {}",
        cpu::mpidr(),
        c.capacity,
        c.cluster.map_or(-1, |x| x as i32)
    );
    // Release: this core's set-up is visible to whoever sees it online.
    CORES[core].online.store(true, Ordering::Release);
    ONLINE.fetch_add(1, Ordering::AcqRel);
}

fn start_secondaries(m: &board::Machine) {
    let entry = arch::secondary_entry_addr();
    for (core, state) in CORES.iter().enumerate().take(m.cores.min(MAX_CORES)).skip(1) {
        let c = m.cpu(core);
        let result = match c.enable_method {
            EnableMethod::Psci => psci::cpu_on(m.psci, c.mpidr.get(), entry, core as u64).map_err(|e| {
                println!("core {core}: PSCI CPU_ON for mpidr {} failed: {e}", c.mpidr);
            }),
            EnableMethod::SpinTable { release_addr: Some(addr) } => spin_table_release(core, c.mpidr.get(), addr.0),
            EnableMethod::SpinTable { release_addr: None } => {
                println!("core {core}: mpidr {} is spin-table without a release address; left offline", c.mpidr);
                Err(())
            }
            EnableMethod::None | EnableMethod::Unsupported => {
                println!("core {core}: mpidr {} has no usable enable-method; left offline", c.mpidr);
                Err(())
            }
        };
        if result.is_ok() && !cpu::spin_until(5_000_000, || state.online.load(Ordering::Acquire)) {
            println!("core {core}: started but did not come online within 5 s");
        }
    }
}

/// Logical core -> MPIDR for cores released through a spin table (boot.S's
/// `_spin_entry` looks itself up here with the MMU off). `u64::MAX` = unused slot.
#[no_mangle]
static mut zbeam_spin_mpidr: [u64; MAX_CORES] = [u64::MAX; MAX_CORES];

/// Releases a spin-table core: publish its MPIDR, then write the entry address to its
/// release address (a 64-bit store), clean it to the point of coherency and `sev`
/// (Linux `Documentation/arch/arm64/booting.rst`, spin-table). Refuses addresses
/// outside RAM-backed coverage or inside the kernel image.
fn spin_table_release(core: usize, mpidr: u64, addr: u64) -> Result<(), ()> {
    let (img_start, img_end) = arch::image_range();
    if !addr.is_multiple_of(8) || addr >= mmu::COVERED || (img_start as u64..img_end as u64).contains(&addr) {
        println!("core {core}: release address {addr:#x} is unusable; left offline");
        return Err(());
    }
    let entry = arch::spin_entry_addr();
    // SAFETY: single writer (the boot core, one core at a time); the slot is read by
    // the released core only after the clean and SEV below.
    unsafe {
        let table = &raw mut zbeam_spin_mpidr;
        (*table)[core] = mpidr;
        mmu::clean_to_poc(table as usize, core::mem::size_of::<[u64; MAX_CORES]>());
        // The release slot belongs to the waiting core per the tree; m1n1 keeps it out
        // of usable RAM. A volatile store makes the one write the protocol needs.
        core::ptr::write_volatile(addr as *mut u64, entry);
    }
    mmu::clean_to_poc(addr as usize, 8);
    cpu::sev();
    Ok(())
}

fn secondary_main(core: usize) -> ! {
    let Some(m) = board::machine() else { cpu::halt() };
    if let Err(e) = m.init_core_interrupts(core) {
        println!("core {core}: interrupt set-up failed: {e}");
        cpu::halt();
    }
    timer::start();
    cpu::irq_enable();
    report_online(core);
    crate::start::secondary(core)
}
