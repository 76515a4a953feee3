//! The fixtures in `tests/fixtures` (sources and build commands in its README.md):
//! address translation, memory and reservations, and the trees that lack a console,
//! an interrupt controller, a release address, or have too many CPUs.

use zbeam_devtree::{
    parse, Board, CoreClass, EnableMethod, Error, InterruptController, Irq, Mpidr, PhysAddr, PsciMethod, Region,
    Reserved, ReservedKind, UartKind, MAX_CPUS,
};

const TRANSLATED: &[u8] = include_bytes!("fixtures/translated.dtb");
const NO_CONSOLE: &[u8] = include_bytes!("fixtures/no-console.dtb");
const NO_INTC: &[u8] = include_bytes!("fixtures/no-intc.dtb");
const SPIN_NO_RELEASE: &[u8] = include_bytes!("fixtures/spin-no-release.dtb");
const BAD_ALIAS: &[u8] = include_bytes!("fixtures/bad-alias.dtb");
const TOO_MANY_CPUS: &[u8] = include_bytes!("fixtures/too-many-cpus.dtb");

fn region(base: u64, size: u64) -> Region {
    Region { base: PhysAddr(base), size }
}

#[test]
fn reg_is_translated_through_every_bus() {
    let p = parse(TRANSLATED).unwrap();
    let console = p.console.expect("console");
    assert_eq!(console.kind, UartKind::Pl011);
    // serial@2000 on bus (0x0 -> soc 0x2_0000_0000) on soc (0x2_0000_0000 -> 0x1000_0000).
    assert_eq!(console.regs, region(0x1000_2000, 0x1000));
    assert_eq!(console.options, "115200n8");
    // No interrupt-parent on the path: the root's (the GIC) applies.
    assert_eq!(console.interrupt, Some(Irq::GicSpi(5)));
    assert_eq!(
        p.interrupt_controller,
        Some(InterruptController::GicV3 {
            gicd: region(0x0800_0000, 0x1_0000),
            gicr: region(0x080a_0000, 0x10_0000),
            redistributor_regions: 1,
        })
    );
}

#[test]
fn memory_with_one_cell_addresses_and_reservations() {
    let p = parse(TRANSLATED).unwrap();
    assert_eq!(
        &p.memory[..],
        &[region(0x4000_0000, 0x1000_0000), region(0x6000_0000, 0x0800_0000), region(0x8000_0000, 0x0100_0000)]
    );
    assert_eq!(p.ram_total(), 0x1000_0000 + 0x0800_0000 + 0x0100_0000);
    let reserved: Vec<Reserved> = p.reserved.to_vec();
    assert_eq!(
        reserved,
        [
            Reserved { region: region(0x4800_0000, 0x10_0000), kind: ReservedKind::MemReserve },
            Reserved { region: region(0x4900_0000, 0x2000), kind: ReservedKind::MemReserve },
            Reserved { region: region(0x4f00_0000, 0x10_0000), kind: ReservedKind::ReservedMemory { no_map: true } },
            Reserved { region: region(0x4e00_0000, 0x20_0000), kind: ReservedKind::ReservedMemory { no_map: false } },
        ],
        "disabled and size-only (dynamic) reserved-memory children are left out"
    );
}

#[test]
fn cpus_with_two_cell_reg_and_mixed_enable_methods() {
    let p = parse(TRANSLATED).unwrap();
    let mpidrs: Vec<u64> = p.cpus.iter().map(|c| c.mpidr.get()).collect();
    assert_eq!(mpidrs, [0x0, 0x1_0000_0000, 0x1_0000_0101]);
    assert_eq!(p.cpus[1].mpidr.aff(3), 1);
    assert_eq!(p.cpus[2].mpidr.aff(1), 1);
    assert_eq!(p.cpus[0].enable_method, EnableMethod::None);
    assert_eq!(p.cpus[1].enable_method, EnableMethod::SpinTable { release_addr: Some(PhysAddr(0x4000_fff8)) });
    assert_eq!(p.cpus[2].enable_method, EnableMethod::Psci);
    let clusters: Vec<_> = p.cpus.iter().map(|c| c.cluster).collect();
    assert_eq!(clusters, [Some(0), Some(1), Some(1)]);
    assert_eq!(p.classes(), "PPP");
    assert!(p.cpus.iter().all(|c| c.class == CoreClass::Performance));
    // MPIDR_EL1 of the Aff3=1 core, with the RES1 bit 31 set.
    assert_eq!(p.boot_cpu_index(0x1_8000_0000), Some(1));
    assert_eq!(Mpidr::from_reg(0x1_0000_0000).map(Mpidr::get), Some(0x1_0000_0000));
    assert_eq!(Mpidr::from_reg(0x8000_0000), None, "bit 31 is not an affinity bit");
}

#[test]
fn chosen_psci_board_and_timer() {
    let p = parse(TRANSLATED).unwrap();
    assert_eq!(p.psci, PsciMethod::Smc);
    assert_eq!(p.bootargs, "console=ttyAMA0 zbeam.test=1");
    assert!(!p.bootargs.truncated());
    assert_eq!(p.model, "zbeam translation test");
    // Unknown root compatible, but a GIC and PSCI: the GIC/PSCI board code fits.
    assert_eq!(p.board, Board::QemuVirt);
    assert_eq!(p.timer.unwrap().virt, Some(Irq::GicPpi(11)));
    assert_eq!(p.validate(), Ok(()));
}

#[test]
fn no_console_still_gives_a_platform() {
    let p = parse(NO_CONSOLE).expect("a missing console is not fatal");
    assert_eq!(p.console, None);
    assert_eq!(p.console_error(), Some(Error::NoConsole));
    assert_eq!(p.validate(), Err(Error::NoConsole));
    // Everything else is there.
    assert!(p.interrupt_controller.is_some());
    assert!(p.timer.is_some());
    assert_eq!(p.bootargs, "quiet");
}

#[test]
fn no_interrupt_controller_is_reported_by_validate() {
    let p = parse(NO_INTC).expect("a missing controller is not fatal");
    assert_eq!(p.interrupt_controller, None);
    assert_eq!(p.timer, None, "timer interrupts cannot be decoded without a controller");
    assert_eq!(p.validate(), Err(Error::NoInterruptController));
    // The console is still usable for the error message, without an interrupt.
    let console = p.console.expect("console");
    assert_eq!(console.regs, region(0x0900_0000, 0x1000));
    assert_eq!(console.interrupt, None);
}

#[test]
fn spin_table_without_release_address_is_an_error() {
    let err = parse(SPIN_NO_RELEASE).unwrap_err();
    assert_eq!(err, Error::SpinTableWithoutReleaseAddr { mpidr: Mpidr::from_reg(1).unwrap() });
    assert_eq!(err.to_string(), "device tree: cpu 0x1 uses spin-table but has no cpu-release-addr");
}

#[test]
fn stdout_alias_that_does_not_exist() {
    let p = parse(BAD_ALIAS).unwrap();
    assert_eq!(p.console, None);
    assert_eq!(p.console_error(), Some(Error::NoSuchNode("the stdout-path alias")));
}

#[test]
fn more_cpus_than_capacity() {
    assert_eq!(parse(TOO_MANY_CPUS).unwrap_err(), Error::TooMany { what: "CPUs", capacity: MAX_CPUS });
}

const AIC2_3CELL: &[u8] = include_bytes!("fixtures/aic2-3cell.dtb");
const AIC2_4CELL: &[u8] = include_bytes!("fixtures/aic2-4cell.dtb");

/// The `apple,aic2` binding's 3-cell form (single-die chips) is accepted and decodes
/// as die 0, exactly as the 4-cell form with die 0 does: the console's IRQ and the
/// timer's FIQs.
#[test]
fn aic2_three_and_four_cell_specifiers_decode_alike() {
    let three = parse(AIC2_3CELL).expect("a 3-cell AIC2 tree is accepted");
    let four = parse(AIC2_4CELL).expect("a 4-cell AIC2 tree is accepted");
    assert!(three.validate().is_ok(), "{:?}", three.validate());
    assert_eq!(three.board, Board::Apple);
    let aic = |cells| InterruptController::AppleAic2 {
        regs: region(0x2_8e10_0000, 0xc000),
        event: region(0x2_8e10_c000, 4),
        cells,
    };
    assert_eq!(three.interrupt_controller, Some(aic(3)));
    assert_eq!(four.interrupt_controller, Some(aic(4)));
    let irq = Some(Irq::AicIrq { die: 0, num: 605 });
    assert_eq!(three.console.map(|c| c.interrupt), Some(irq));
    assert_eq!(four.console.map(|c| c.interrupt), Some(irq));
    assert_eq!(three.timer, four.timer);
    assert!(three.timer.is_some());
}
