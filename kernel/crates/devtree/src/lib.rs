//! zbeam's device-tree reader: everything the kernel learns about the machine at boot.
//!
//! The boot loader (QEMU's `-kernel` stub, or m1n1 on Apple Silicon) passes a
//! flattened device tree in `x0`. The kernel reads its size with
//! [`header_total_size`], builds a slice of that length, and calls [`parse`], which
//! returns a plain-data [`Platform`]: board kind, RAM and reserved ranges, CPUs with
//! MPIDR, enable method, cluster and P/E class, the console UART, the interrupt
//! controller, the timer interrupts, the PSCI conduit, the boot arguments and the
//! initial RAM disk.
//!
//! It runs before the kernel has a heap (the heap is sized from [`Platform::memory`]),
//! so nothing here allocates; containers have fixed capacities ([`MAX_CPUS`],
//! [`MAX_MEMORY`], [`MAX_RESERVED`]). No `unsafe`, and no input makes it panic: every
//! problem is an [`Error`].
//!
//! Specifications: Devicetree Specification v0.4 (chapter 5 for the blob format,
//! chapters 2 and 3 for nodes and properties) and the Linux bindings named in each
//! module.
//!
//! # What is fatal
//!
//! [`parse`] fails only when the tree itself cannot be trusted or the kernel could
//! not run even one CPU safely from it: not a DTB, truncated, malformed blocks, no
//! `/cpus` or no cpu node, a bad cpu `reg`, a spin-table CPU without
//! `cpu-release-addr`, duplicate CPUs, more CPUs / memory ranges / reserved regions
//! than the fixed capacities, an unreadable `/memory` or `/reserved-memory` entry, a
//! `/psci` node with an unknown `method`.
//!
//! Missing or unusable console, interrupt controller or timer do not stop [`parse`]:
//! the field is `None` and [`Platform::validate`] (or [`Platform::console_error`]) says
//! why, so the kernel can still report the problem on whatever console it has. A
//! malformed `linux,initrd-start`/`-end` pair only leaves [`Platform::initrd`] `None`
//! ([`Platform::initrd_error`] says why). A
//! spin-table CPU whose release address is 0 (the Apple placeholder) is kept with
//! `release_addr: None`; the kernel must not start it.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bounded;
mod cpus;
mod devices;
mod error;
mod header;
mod tree;
mod types;

pub use bounded::{BoundedStr, List};
pub use cpus::DEFAULT_CAPACITY;
pub use error::Error;
pub use header::{header_total_size, FDT_MAGIC, HEADER_LEN, MAX_TOTAL_SIZE};
pub use types::{
    Board, Console, CoreClass, Cpu, EnableMethod, InterruptController, Irq, Mpidr, PhysAddr, Platform, PsciMethod,
    Region, Reserved, ReservedKind, Timer, UartKind, MAX_CPUS, MAX_MEMORY, MAX_RESERVED,
};

use tree::{prop, prop_str, strings, Tree};
use types::Issues;

/// Reads the device tree in `dtb` (at least `totalsize` bytes; extra bytes are
/// ignored). See the crate documentation for which problems are errors.
pub fn parse(dtb: &[u8]) -> Result<Platform, Error> {
    let h = header::read(dtb)?;
    let blob = dtb.get(..h.total_size).ok_or(Error::Truncated { total_size: h.total_size, available: dtb.len() })?;
    let tree = Tree::new(blob)?;
    let root = tree.root();

    let cpus = cpus::parse(&tree)?;
    let survey = devices::survey(&tree)?;

    let mut reserved = List::new();
    header::for_each_memreserve(blob, &h, |address, size| {
        devices::push_reserved(
            &mut reserved,
            Reserved { region: Region { base: PhysAddr(address), size }, kind: ReservedKind::MemReserve },
        )
    })?;
    for r in survey.reserved.iter() {
        devices::push_reserved(&mut reserved, *r)?;
    }

    let mut issues = Issues::default();
    let intc = match survey.intc.as_ref() {
        None => {
            issues.interrupt_controller = Some(Error::NoInterruptController);
            None
        }
        Some(chain) => devices::interrupt_controller(chain).map_err(|e| issues.interrupt_controller = Some(e)).ok(),
    };
    let timer = match (survey.timer.as_ref(), intc.as_ref()) {
        (Some(chain), Some(i)) => devices::timer(chain, i).map_err(|e| issues.timer = Some(e)).ok(),
        (None, _) => {
            issues.timer = Some(Error::NoTimer);
            None
        }
        (Some(_), None) => {
            issues.timer = issues.interrupt_controller;
            None
        }
    };
    let console =
        devices::console(&tree, survey.uart.as_ref(), intc.as_ref()).map_err(|e| issues.console = Some(e)).ok();
    let psci = devices::psci(survey.psci.as_ref())?;
    let controller = intc.map(|i| i.controller);

    let chosen = tree.lookup("/chosen")?.and_then(|c| c.last());
    let bootargs = match chosen {
        Some(node) => prop_str(node, "bootargs", "/chosen")?.unwrap_or(""),
        None => "",
    };
    let initrd = match chosen {
        Some(node) => initrd(node).map_err(|e| issues.initrd = Some(e)).ok().flatten(),
        None => None,
    };
    let model = prop_str(root, "model", "/")?.unwrap_or("");
    let root_compatible = prop(root, "compatible")?.unwrap_or(&[]);

    Ok(Platform {
        board: board(root_compatible, controller, psci),
        model: BoundedStr::from_str_truncating(model),
        memory: survey.memory,
        reserved,
        cpus,
        console,
        interrupt_controller: controller,
        timer,
        psci,
        bootargs: BoundedStr::from_str_truncating(bootargs),
        initrd,
        boot_cpuid_phys: h.boot_cpuid_phys,
        issues,
    })
}

/// The initial RAM disk the boot loader placed: `/chosen` `linux,initrd-start` and
/// `linux,initrd-end` (Linux `chosen.yaml`; QEMU writes 32-bit values, others 64-bit,
/// so either length is read). Both absent is `None`; one without the other, another
/// length, or an end before the start is an error. The end is exclusive.
fn initrd(chosen: tree::Node<'_>) -> Result<Option<Region>, Error> {
    let read = |name: &'static str| -> Result<Option<u64>, Error> {
        let bad = Error::BadProperty { node: "chosen", property: name };
        match prop(chosen, name)? {
            None => Ok(None),
            Some(v) => match *v {
                [a, b, c, d] => Ok(Some(u32::from_be_bytes([a, b, c, d]).into())),
                [a, b, c, d, e, f, g, h] => Ok(Some(u64::from_be_bytes([a, b, c, d, e, f, g, h]))),
                _ => Err(bad),
            },
        }
    };
    match (read("linux,initrd-start")?, read("linux,initrd-end")?) {
        (None, None) => Ok(None),
        (Some(start), Some(end)) if end >= start => Ok(Some(Region { base: PhysAddr(start), size: end - start })),
        (Some(_), _) => Err(Error::BadProperty { node: "chosen", property: "linux,initrd-end" }),
        (None, Some(_)) => Err(Error::BadProperty { node: "chosen", property: "linux,initrd-start" }),
    }
}

/// The board, from the root `compatible`, else from the devices present.
fn board(root_compatible: &[u8], intc: Option<InterruptController>, psci: PsciMethod) -> Board {
    let is_apple = |s: &str| s == "apple,arm-platform" || s.starts_with("apple,t8") || s.starts_with("apple,t6");
    if strings(root_compatible).any(|s| s == "linux,dummy-virt") {
        return Board::QemuVirt;
    }
    if strings(root_compatible).any(is_apple) {
        return Board::Apple;
    }
    match intc {
        Some(InterruptController::AppleAic { .. } | InterruptController::AppleAic2 { .. }) => Board::Apple,
        Some(InterruptController::GicV2 { .. } | InterruptController::GicV3 { .. }) if psci != PsciMethod::None => {
            Board::QemuVirt
        }
        _ => Board::Unknown,
    }
}
