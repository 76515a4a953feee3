//! Stack guard pages: a deliberate stack overflow (`test=stack-overflow-N`, deep
//! recursion on core N) must be reported as one, through the panic path, with the other
//! cores stopped and QEMU ending with the panic's exit code, at every entry EL.

use std::time::Duration;
use zbeam_qemu_tests::{run, Machine};

fn overflow(core: u32, m: Machine) {
    let o = run(&Machine { append: format!("test=stack-overflow-{core}"), timeout: Duration::from_secs(60), ..m });
    o.expect_code(1)
        .expect(&format!("test stack-overflow: core {core} recurses until its stack runs out"))
        .expect(&format!("*** kernel panic on core {core} at "))
        .expect(&format!("stack overflow on core {core}: a write hit a stack guard page"))
        .expect("translation fault at level 3 (write)")
        .expect("*** stopped 3 other cores");
    assert!(!o.output.contains("FAIL"), "the recursion returned:\n{}", o.output);
}

/// Core 0 (the boot stack), entered at EL1.
#[test]
fn boot_core_overflow_el1() {
    overflow(0, Machine::default());
}

/// A secondary core (a 64 KiB stack slot), entered at EL1.
#[test]
fn secondary_overflow_el1() {
    overflow(3, Machine::default());
}

/// Core 0 entered at EL2 without VHE.
#[test]
fn boot_core_overflow_el2() {
    overflow(0, Machine { el2: true, ..Machine::default() });
}

/// A secondary entered at EL2 with VHE (E2H = 1).
#[test]
fn secondary_overflow_el2_vhe() {
    overflow(1, Machine { el2: true, cpu: "max", ..Machine::default() });
}
