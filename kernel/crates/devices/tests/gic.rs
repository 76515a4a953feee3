//! GICv2 and GICv3 register sequences against recorded expectations (IHI 0048B,
//! IHI 0069H), on the fake bus.

mod common;

use common::Access::{R, W};
use common::FakeBus;
use std::cell::RefCell;
use zbeam_devices::gicv2::GicV2;
use zbeam_devices::gicv3::{sgi1r_value, CpuInterface, GicV3, GicV3Error};

#[test]
fn gicv2_distributor_bring_up_disables_clears_and_prioritises_every_spi() {
    // ITLinesNumber 1: 64 interrupt IDs, so one SPI word (IDs 32..63).
    let gicd = FakeBus::default().script(0x004, &[1]);
    let gicc = FakeBus::default();
    let gic = GicV2::new(&gicd, &gicc);
    gic.init_distributor();
    let mut want = vec![W(0x000, 0), R(0x004, 1), W(0x184, u32::MAX), W(0x284, u32::MAX)];
    want.extend((32..64).step_by(4).map(|i| W(0x400 + i, 0xa0a0_a0a0)));
    want.push(W(0x000, 1));
    assert_eq!(gicd.take_log(), want);
    assert!(gicc.take_log().is_empty());
}

#[test]
fn gicv2_cpu_bring_up_and_this_cores_mask() {
    let gicd = FakeBus::default().script(0x800, &[0x0404_0404]).script(0x81c, &[0x0400_0000]);
    let gicc = FakeBus::default();
    let gic = GicV2::new(&gicd, &gicc);
    gic.init_cpu();
    let mut want = vec![W(0x180, u32::MAX), W(0x280, u32::MAX)];
    want.extend((0..32).step_by(4).map(|i| W(0x400 + i, 0xa0a0_a0a0)));
    assert_eq!(gicd.take_log(), want);
    // PMR accepts everything, no binary point, the interface enabled, in that order.
    assert_eq!(gicc.take_log(), vec![W(0x004, 0xff), W(0x008, 0), W(0x000, 1)]);
    // The banked ITARGETSR0..7 read as this core's interface bit (here interface 2).
    assert_eq!(gic.this_cpu_mask(), 0x04);
    let reads: Vec<usize> = gicd.take_log().iter().map(|a| if let R(o, _) = a { *o } else { 0 }).collect();
    assert_eq!(reads, (0x800..0x820).step_by(4).collect::<Vec<_>>());
}

#[test]
fn gicv2_enable_routes_and_configures_an_spi_but_not_an_sgi() {
    let gicd = FakeBus::default().script(0x820, &[0x1111_1111]).script(0xc08, &[0xffff_ffff]);
    let gicc = FakeBus::default();
    let gic = GicV2::new(&gicd, &gicc);
    // SPI 33, level triggered, to interface 0: its target byte is byte 1 of ITARGETSR8
    // (0x820), its config bit is bit 3 of ICFGR2 (0xc08: 16 IDs per register).
    gic.enable(33, true, 0x01);
    assert_eq!(
        gicd.take_log(),
        vec![R(0x820, 0x1111_1111), W(0x820, 0x1111_0111), R(0xc08, u32::MAX), W(0xc08, !(1 << 3)), W(0x104, 1 << 1)]
    );
    // SGI 2: the set-enable bit only.
    gic.enable(2, false, 0);
    assert_eq!(gicd.take_log(), vec![W(0x100, 1 << 2)]);
    // Edge-triggered SPI 47: config bit (47 % 16) * 2 + 1 = 31 of ICFGR2 set.
    let gicd = FakeBus::default().script(0xc08, &[0]);
    let gic = GicV2::new(&gicd, &gicc);
    gic.enable(47, false, 0x02);
    let log = gicd.take_log();
    assert_eq!(log[1], W(0x82c, 0x0200_0000));
    assert_eq!(&log[2..], &[R(0xc08, 0), W(0xc08, 1 << 31), W(0x104, 1 << 15)]);
}

#[test]
fn gicv2_ack_eoi_and_sgi() {
    let gicd = FakeBus::default();
    let gicc = FakeBus::default().script(0x00c, &[0x0c03]);
    let gic = GicV2::new(&gicd, &gicc);
    let iar = gic.ack();
    gic.eoi(iar);
    assert_eq!(gicc.take_log(), vec![R(0x00c, 0x0c03), W(0x010, 0x0c03)]);
    // SGI 3 to interfaces 1 and 2: CPUTargetList in bits 23:16, SGIINTID in 3:0.
    gic.send_sgi(3, 0b110);
    assert_eq!(gicd.take_log(), vec![W(0xf00, 0x0006_0003)]);
}

/// Records what the driver asks of the system-register interface.
#[derive(Default)]
struct FakeIcc {
    calls: RefCell<Vec<String>>,
}

impl CpuInterface for &FakeIcc {
    fn enable(&self) {
        self.calls.borrow_mut().push("enable".into());
    }
    fn ack(&self) -> u32 {
        self.calls.borrow_mut().push("ack".into());
        27
    }
    fn eoi(&self, iar: u32) {
        self.calls.borrow_mut().push(format!("eoi {iar}"));
    }
    fn sgi1r(&self, value: u64) {
        self.calls.borrow_mut().push(format!("sgi1r {value:#x}"));
    }
}

#[test]
fn gicv3_distributor_waits_for_rwp_and_enables_affinity_routing() {
    // CTLR reads: RWP set once after the disable, then clear (the script's last value
    // keeps answering, so the final wait reads 0 too).
    let gicd = FakeBus::default().script(0x0000, &[1 << 31, 0]).script(0x0004, &[1]);
    let gicr = FakeBus::default();
    let icc = FakeIcc::default();
    GicV3::new(&gicd, &gicr, 0x2_0000, &icc).init_distributor();
    let mut want = vec![W(0x0000, 0), R(0x0000, 1 << 31), R(0x0000, 0), R(0x0004, 1)];
    want.extend([W(0x0184, u32::MAX), W(0x0284, u32::MAX), W(0x0084, u32::MAX)]);
    want.extend((32..64).step_by(4).map(|i| W(0x0400 + i, 0xa0a0_a0a0)));
    want.extend([R(0x0000, 0), W(0x0000, 0x13), R(0x0000, 0)]);
    assert_eq!(gicd.take_log(), want);
}

#[test]
fn gicv3_finds_the_redistributor_by_affinity_across_vlpi_frames() {
    // Frame 0: affinity 0.0.0.0 with VLPIS (4 frames wide); frame at 0x40000: 0.0.1.2,
    // Last. GICR_TYPER is read as two words, low first.
    let gicd = FakeBus::default();
    let gicr = FakeBus::default()
        .script(0x0_0008, &[1 << 1])
        .script(0x0_000c, &[0])
        .script(0x4_0008, &[1 << 4])
        .script(0x4_000c, &[0x0000_0102])
        .script(0x4_0014, &[0b110, 0b100, 0]);
    let icc = FakeIcc::default();
    let gic = GicV3::new(&gicd, &gicr, 0x8_0000, &icc);
    assert_eq!(gic.redistributor(0x102), Ok(0x4_0000));
    gicr.take_log();
    // A core no frame names: the walk stops at the Last frame.
    assert_eq!(gic.redistributor(0x103), Err(GicV3Error::NoRedistributor(0x103)));
    assert_eq!(gicr.take_log(), vec![R(0x0_0008, 2), R(0x0_000c, 0), R(0x4_0008, 1 << 4), R(0x4_000c, 0x102)]);
    // Bring-up of core 0.0.1.2: wake (clear ProcessorSleep, wait for ChildrenAsleep
    // to clear), SGIs/PPIs disabled, not pending, group 1, default priority; then the
    // system-register interface.
    gic.init_cpu(0x102).unwrap();
    let log = gicr.take_log();
    let rd = 0x4_0000;
    let wake = [R(rd + 0x14, 0b110), W(rd + 0x14, 0b100), R(rd + 0x14, 0b100), R(rd + 0x14, 0)];
    assert_eq!(&log[4..8], &wake);
    let mut rest = vec![W(rd + 0x1_0180, u32::MAX), W(rd + 0x1_0280, u32::MAX), W(rd + 0x1_0080, u32::MAX)];
    rest.extend((0..32).step_by(4).map(|i| W(rd + 0x1_0400 + i, 0xa0a0_a0a0)));
    assert_eq!(&log[8..], &rest);
    assert_eq!(*icc.calls.borrow(), ["enable"]);
}

#[test]
fn gicv3_enable_spi_routes_by_affinity_and_ppi_goes_to_the_redistributor() {
    let gicd = FakeBus::default().script(0x0c08, &[0]);
    let gicr = FakeBus::default().script(0x0008, &[1 << 4]).script(0x000c, &[0]);
    let icc = FakeIcc::default();
    let gic = GicV3::new(&gicd, &gicr, 0x2_0000, &icc);
    // SPI 33 edge triggered (ICFGR2 bit 3), routed to affinity 1.0.2.3 (Aff3 in 39:32).
    gic.enable(33, false, 0, 0x1_0000_0203).unwrap();
    assert_eq!(
        gicd.take_log(),
        vec![
            R(0x0c08, 0),
            W(0x0c08, 1 << 3),
            W(0x6000 + 33 * 8, 0x0203),
            W(0x6000 + 33 * 8 + 4, 1),
            W(0x0104, 1 << 1),
            R(0x0000, 0),
        ]
    );
    // PPI 27 (the virtual timer): this core's redistributor, ISENABLER0 bit 27.
    gic.enable(27, true, 0, 0).unwrap();
    assert_eq!(gicr.take_log()[2..], [W(0x1_0100, 1 << 27)]);
    assert!(gicd.take_log().is_empty());
}

#[test]
fn gicv3_sgi_targets_aff0_in_the_target_list_with_range_selector() {
    // SGI 1 to affinity 0.0.0.2: TargetList bit 2, INTID 1 in 27:24.
    assert_eq!(sgi1r_value(1, 0x2), (1 << 2) | (1 << 24));
    // SGI 3 to 3.2.1.17 (Aff3 in MPIDR 39:32): RS 1, TargetList bit 1, Aff1 in 23:16,
    // Aff2 in 39:32, Aff3 in 55:48.
    assert_eq!(sgi1r_value(3, 0x3_0002_0111), (1 << 1) | (1 << 16) | (3 << 24) | (2 << 32) | (1 << 44) | (3 << 48));
    let (gicd, gicr, icc) = (FakeBus::default(), FakeBus::default(), FakeIcc::default());
    let gic = GicV3::new(&gicd, &gicr, 0, &icc);
    let iar = gic.ack();
    gic.eoi(iar);
    gic.send_sgi(0, 0x100);
    assert_eq!(*icc.calls.borrow(), ["ack", "eoi 27", "sgi1r 0x10001"]);
}
