//! Parses every device tree in the shared test data (`$ZBEAM_TESTDATA/dtb`, see its
//! README.md) and checks each value that README lists: CPUs (MPIDR, class, cluster,
//! capacity, enable method), interrupt controller, PSCI, console, timer, memory.

mod common;

use common::{patched, shared, SHARED};
use zbeam_devtree::{
    header_total_size, parse, Board, CoreClass, EnableMethod, InterruptController, Irq, Mpidr, PhysAddr, Platform,
    PsciMethod, Region, UartKind,
};

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

fn region(base: u64, size: u64) -> Region {
    Region { base: PhysAddr(base), size }
}

fn load(name: &str) -> Option<(Vec<u8>, Platform)> {
    let dtb = shared(name)?;
    let p = parse(&dtb).unwrap_or_else(|e| panic!("{name}: {e}"));
    Some((dtb, p))
}

/// What the four QEMU dumps share.
fn check_qemu(p: &Platform, psci: PsciMethod) {
    assert_eq!(p.board, Board::QemuVirt);
    assert_eq!(p.model, "linux,dummy-virt");
    assert_eq!(p.cpu_count(), 4);
    for (i, cpu) in p.cpus.iter().enumerate() {
        assert_eq!(cpu.mpidr, Mpidr::from_reg(i as u64).unwrap());
        assert_eq!(cpu.compatible, "arm,cortex-a72");
        assert_eq!(cpu.enable_method, EnableMethod::Psci);
    }
    assert_eq!(p.psci, psci);
    assert_eq!(&p.memory[..], &[region(0x4000_0000, 256 * MIB)]);
    assert_eq!(p.ram_total(), 256 * MIB);
    assert!(p.reserved.is_empty());
    let console = p.console.expect("console");
    assert_eq!(console.kind, UartKind::Pl011);
    assert_eq!(console.regs, region(0x0900_0000, 0x1000));
    assert_eq!(console.interrupt, Some(Irq::GicSpi(1)));
    assert_eq!(console.interrupt.unwrap().gic_intid(), Some(33));
    let timer = p.timer.expect("timer");
    assert_eq!(timer.sec_phys, Some(Irq::GicPpi(13)));
    assert_eq!(timer.phys, Some(Irq::GicPpi(14)));
    assert_eq!(timer.virt, Some(Irq::GicPpi(11)));
    assert_eq!(timer.hyp_phys, Some(Irq::GicPpi(10)));
    assert_eq!(timer.virt.unwrap().gic_intid(), Some(27));
    assert_eq!(p.boot_cpu_index(0x8000_0000), Some(0), "MPIDR_EL1 RES1 bit 31 is ignored");
    assert_eq!(p.boot_cpu_index(0x8000_0003), Some(3));
    assert_eq!(p.boot_cpu_index(4), None);
    assert_eq!(p.validate(), Ok(()));
}

fn gicv2() -> InterruptController {
    InterruptController::GicV2 { gicd: region(0x0800_0000, 0x1_0000), gicc: region(0x0801_0000, 0x1_0000) }
}

#[test]
fn qemu_gicv2() {
    let Some((dtb, p)) = load("qemu-virt-gicv2-smp4.dtb") else {
        return;
    };
    check_qemu(&p, PsciMethod::Hvc);
    assert_eq!(p.interrupt_controller, Some(gicv2()));
    assert_eq!(p.classes(), "PPPP");
    assert!(p.cpus.iter().all(|c| c.cluster == Some(0) && c.capacity == 1024));
    assert!(p.cpus.iter().all(|c| c.capacity_dmips_mhz.is_none()));
    assert_eq!(header_total_size(&dtb[..40]), Ok(0x10_0000), "QEMU dumps are 1 MiB");
}

#[test]
fn qemu_gicv3() {
    let Some((_, p)) = load("qemu-virt-gicv3-smp4.dtb") else {
        return;
    };
    check_qemu(&p, PsciMethod::Hvc);
    assert_eq!(
        p.interrupt_controller,
        Some(InterruptController::GicV3 {
            gicd: region(0x0800_0000, 0x1_0000),
            gicr: region(0x080a_0000, 0xf6_0000),
            redistributor_regions: 1,
        })
    );
    assert_eq!(p.classes(), "PPPP");
}

#[test]
fn qemu_el2_gicv2() {
    let Some((_, p)) = load("qemu-virt-el2-gicv2-smp4.dtb") else {
        return;
    };
    check_qemu(&p, PsciMethod::Smc);
    assert_eq!(p.interrupt_controller, Some(gicv2()), "GICH/GICV regions are not reported");
    assert_eq!(p.classes(), "PPPP");
}

#[test]
fn qemu_hetero() {
    let Some((_, p)) = load("qemu-virt-hetero-smp4.dtb") else {
        return;
    };
    check_qemu(&p, PsciMethod::Hvc);
    assert_eq!(p.interrupt_controller, Some(gicv2()));
    assert_eq!(p.classes(), "PPEE");
    let clusters: Vec<_> = p.cpus.iter().map(|c| c.cluster).collect();
    assert_eq!(clusters, [Some(0), Some(0), Some(1), Some(1)]);
    let caps: Vec<_> = p.cpus.iter().map(|c| c.capacity_dmips_mhz).collect();
    assert_eq!(caps, [Some(1024), Some(1024), Some(512), Some(512)]);
}

/// What the three Apple trees share; `e` and `p` list the MPIDRs of the E and P
/// cores with their clusters, in tree order.
fn check_apple(p: &Platform, model: &str, e: &[(u64, u16)], perf: &[(u64, u16)]) {
    assert_eq!(p.board, Board::Apple);
    assert_eq!(p.model, model);
    assert_eq!(p.psci, PsciMethod::None);
    assert_eq!(p.cpu_count(), e.len() + perf.len());
    let expected = e
        .iter()
        .map(|&(m, c)| (m, c, CoreClass::Efficiency, 714, "apple,icestorm"))
        .chain(perf.iter().map(|&(m, c)| (m, c, CoreClass::Performance, 1024, "apple,firestorm")));
    for (cpu, (mpidr, cluster, class, cap, compat)) in p.cpus.iter().zip(expected) {
        assert_eq!(cpu.mpidr.get(), mpidr);
        assert_eq!(cpu.cluster, Some(cluster), "cluster of {}", cpu.mpidr);
        assert_eq!(cpu.class, class, "class of {}", cpu.mpidr);
        assert_eq!(cpu.capacity, cap);
        assert_eq!(cpu.capacity_dmips_mhz, Some(cap));
        assert_eq!(cpu.compatible, compat);
        // The trees carry 0 placeholders that m1n1 fills in: never a usable address.
        assert_eq!(cpu.enable_method, EnableMethod::SpinTable { release_addr: None });
    }
    let timer = p.timer.expect("timer");
    assert_eq!(timer.phys, Some(Irq::AicFiq(2)));
    assert_eq!(timer.virt, Some(Irq::AicFiq(3)));
    assert_eq!(timer.hyp_phys, Some(Irq::AicFiq(0)));
    assert_eq!(timer.hyp_virt, Some(Irq::AicFiq(1)));
    assert_eq!(timer.sec_phys, None);
    assert_eq!(p.console.unwrap().kind, UartKind::AppleS5l);
    assert_eq!(p.validate(), Ok(()));
}

#[test]
fn apple_t8103() {
    let Some((dtb, p)) = load("t8103-j274.dtb") else {
        return;
    };
    check_apple(
        &p,
        "Apple Mac mini (M1, 2020)",
        &[(0x0, 0), (0x1, 0), (0x2, 0), (0x3, 0)],
        &[(0x10100, 1), (0x10101, 1), (0x10102, 1), (0x10103, 1)],
    );
    assert_eq!(p.classes(), "EEEEPPPP");
    assert_eq!(
        p.interrupt_controller,
        Some(InterruptController::AppleAic { regs: region(0x2_3b10_0000, 0x8000), cells: 3 })
    );
    let console = p.console.unwrap();
    assert_eq!(console.regs, region(0x2_3520_0000, 0x1000));
    assert_eq!(console.interrupt, Some(Irq::AicIrq { die: 0, num: 0x25d }));
    assert_eq!(&p.memory[..], &[region(0x8_0000_0000, 8 * GIB)]);
    assert_eq!(header_total_size(&dtb), Ok(dtb.len()));
    assert_eq!(p.boot_cpu_index(0x8000_0000 | 0x10102), Some(6));
}

fn check_t600x(name: &str, model: &str) {
    let Some((dtb, p)) = load(name) else { return };
    let perf: Vec<(u64, u16)> = (0..4).map(|i| (0x10100 + i, 1)).chain((0..4).map(|i| (0x10200 + i, 2))).collect();
    check_apple(&p, model, &[(0x0, 0), (0x1, 0)], &perf);
    assert_eq!(p.classes(), "EEPPPPPPPP");
    assert_eq!(
        p.interrupt_controller,
        Some(InterruptController::AppleAic2 {
            regs: region(0x2_8e10_0000, 0xc000),
            event: region(0x2_8e10_c000, 4),
            cells: 4,
        })
    );
    let console = p.console.unwrap();
    assert_eq!(console.regs, region(0x3_9b20_0000, 0x1000));
    assert_eq!(console.interrupt, Some(Irq::AicIrq { die: 0, num: 0x449 }));
    assert_eq!(&p.memory[..], &[region(0x100_0000_0000, 8 * GIB)]);
    assert_eq!(header_total_size(&dtb), Ok(dtb.len()));
}

#[test]
fn apple_t6000() {
    check_t600x("t6000-j314s.dtb", "Apple MacBook Pro (14-inch, M1 Pro, 2021)");
}

#[test]
fn apple_t6001() {
    check_t600x("t6001-j375c.dtb", "Apple Mac Studio (M1 Max, 2022)");
}

/// m1n1 writes the release address in place; a patched copy must read it back,
/// for that CPU only.
#[test]
fn filled_in_release_address_is_read() {
    for name in ["t8103-j274.dtb", "t6000-j314s.dtb"] {
        let Some(dtb) = shared(name) else { return };
        let value = [0u32.to_be_bytes(), 0x8_1000u32.to_be_bytes()].concat();
        let copy = patched(&dtb, &["cpus", "cpu@10102"], "cpu-release-addr", &value);
        let p = parse(&copy).unwrap();
        for cpu in p.cpus.iter() {
            let want = if cpu.mpidr.get() == 0x10102 { Some(PhysAddr(0x8_1000)) } else { None };
            assert_eq!(cpu.enable_method, EnableMethod::SpinTable { release_addr: want }, "{name}");
        }
        // A full 64-bit address.
        let value = [0x8u32.to_be_bytes(), 0x1000u32.to_be_bytes()].concat();
        let copy = patched(&dtb, &["cpus", "cpu@0"], "cpu-release-addr", &value);
        let p = parse(&copy).unwrap();
        assert_eq!(p.cpus[0].enable_method, EnableMethod::SpinTable { release_addr: Some(PhysAddr(0x8_0000_1000)) });
    }
}

/// The answer is plain data: a copy equals the original, and every tree parses the
/// same way twice.
#[test]
fn platform_is_plain_data() {
    for name in SHARED {
        let Some(dtb) = shared(name) else { return };
        let a = parse(&dtb).unwrap();
        let b = a;
        assert_eq!(a, b);
        assert_eq!(parse(&dtb).unwrap(), a, "{name}");
    }
}
