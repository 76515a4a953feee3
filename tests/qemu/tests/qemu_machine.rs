//! The machine `tools/qemu-run` builds (for `make qemu`, the benchmarks and every test
//! here) asks QEMU for nothing outside the checkout: no network card, no option ROM,
//! no firmware file. QEMU is asked itself, through its monitor, so a new default
//! device that needs a file fails here rather than on a newcomer's machine.

use zbeam_qemu_tests::{image, machine_report, Machine};

fn allowed(m: &Machine) -> Vec<String> {
    let mut files = vec![image().display().to_string()];
    files.extend(m.dtb.iter().chain(m.initrd.iter()).map(|p| p.display().to_string()));
    files
}

fn assert_self_contained(m: Machine) {
    let report = machine_report(&m, &[]);
    // The report really describes the machine: the UART and the interrupt controller
    // the kernel uses are in it, and the kernel Image is one of its ROMs.
    assert!(report.qtree.contains("dev: pl011"), "no PL011 in info qtree:\n{}", report.qtree);
    assert!(report.qtree.contains("dev: arm_gic") || report.qtree.contains("dev: arm-gicv3"), "{}", report.qtree);
    assert!(report.roms.contains(&image().display().to_string()), "kernel not among the ROMs:\n{}", report.roms);
    let deps = report.file_dependencies(&allowed(&m));
    assert!(deps.is_empty(), "the QEMU machine needs files or devices zbeam does not: {deps:#?}");
}

#[test]
fn default_machine_has_no_network_device_and_no_rom_file() {
    assert_self_contained(Machine::default());
}

#[test]
fn gicv3_el2_vhe_machine_has_no_network_device_and_no_rom_file() {
    assert_self_contained(Machine { gic: 3, el2: true, cpu: "max", smp: 8, ..Machine::default() });
}

/// The check can fail: a PCI network card with a user-mode backend (its ROM turned off
/// so QEMU starts without the file) is reported, and so is a card that loads a ROM
/// file (a dummy one made here, so QEMU finds it).
#[test]
fn a_network_card_or_a_rom_file_is_reported() {
    let m = Machine::default();
    let report = machine_report(&m, &["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,romfile="]);
    let deps = report.file_dependencies(&allowed(&m));
    assert!(deps.iter().any(|d| d.contains("info network")), "{deps:#?}\n{}", report.network);
    assert!(deps.iter().any(|d| d.contains("dev: virtio-net-pci")), "{deps:#?}\n{}", report.qtree);

    let rom = std::env::temp_dir().join(format!("zbeam-dummy-{}.rom", std::process::id()));
    std::fs::write(&rom, [0u8; 512]).expect("write dummy ROM");
    let device = format!("pci-testdev,romfile={}", rom.display());
    let report = machine_report(&m, &["-device", &device]);
    let _ = std::fs::remove_file(&rom);
    let deps = report.file_dependencies(&allowed(&m));
    assert!(deps.iter().any(|d| d.contains("option ROM file")), "{deps:#?}\n{}", report.qtree);
}
