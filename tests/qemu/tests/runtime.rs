//! The schedulers running Z80 processes on every core, in QEMU (the in-kernel drivers
//! are in kernel/src/ktest/runtime.rs; each prints its figures and exits 0 on pass).

use zbeam_qemu_tests::{run, Machine, Outcome};

fn runtime_test(name: &str, m: Machine) -> Outcome {
    let o = run(&Machine { append: format!("test={name}"), mem: "512M", ..m });
    o.expect_code(0).expect(&format!("test {name}: PASS"));
    o
}

/// 1000 CPU-bound processes spawned on core 0 end up spread: every core runs at least
/// 15% of the reductions (the driver checks; the lines are its evidence).
#[test]
fn spread_1000_spinners_from_core_0() {
    let o = runtime_test("spread", Machine::default());
    o.expect("spawned 1000 spinners on core 0").expect("all 1000 processes killed and reaped");
    for c in 0..4 {
        o.expect(&format!("test spread: core {c} ran "));
    }
}

/// A process bound to one core never runs on another.
#[test]
fn pinned_process_stays_on_its_core() {
    runtime_test("pinned", Machine::default()).expect("on cores mask 0x8");
}

/// On the 2P+2E tree, high priority runs on P cores and low priority on E cores.
#[test]
fn hetero_high_on_p_low_on_e() {
    let Some(dtb) = zbeam_testdata::require("dtb/qemu-virt-hetero-smp4.dtb") else { return };
    runtime_test("hetero", Machine { dtb: Some(dtb), ..Machine::default() })
        .expect("2 performance and 2 efficiency cores");
}

/// A ring of 1000 Z80 processes passes 100,000 messages, none lost or reordered.
#[test]
fn ring_1000_processes_100000_hops() {
    runtime_test("ring", Machine::default()).expect("reached 100000 of 100000 hops, 0 errors");
}

/// Sleeps and receive timeouts fire never early and within 2 ticks. Guest time runs
/// on -icount here: on a shared host, QEMU's vCPU threads can be descheduled for tens
/// of milliseconds, which shows up as guest-visible lateness that is not the kernel's.
#[test]
fn timers_never_early_within_two_ticks() {
    runtime_test("timers", Machine { icount: true, ..Machine::default() }).expect("10 reports, 0 early");
}

/// The same with GICv3 and 8 cores, entered at EL2 with VHE.
#[test]
fn ring_on_gicv3_8_cores_el2() {
    runtime_test("ring", Machine { smp: 8, gic: 3, el2: true, cpu: "max", ..Machine::default() });
}

/// P/E scheduling on the 2P+2E tree: the drivers in kernel/src/ktest/hetero.rs check
/// the thresholds (busy cores, balanced P queues, bounded IPIs, no spill when the
/// classes have room, spill-over and return) and print the figures. Busy time and IPI
/// rates are in guest time (WFI vs not over the guest's counter), so a loaded host
/// slows these runs down without changing what they check.
fn hetero_load(name: &str) -> Option<Outcome> {
    let dtb = zbeam_testdata::require("dtb/qemu-virt-hetero-smp4.dtb")?;
    Some(runtime_test(name, Machine { dtb: Some(dtb), ..Machine::default() }))
}

/// 8 high-priority spinners: every core at least 90% busy, P queue lengths within 1
/// in at least 75% of the samples, at most 100 IPIs per second per core.
#[test]
fn hetero_8_high_spinners_use_every_core() {
    if let Some(o) = hetero_load("hetero-spin8") {
        o.expect("ok: least busy core").expect("ok: most IPIs on one core").expect("ok: P queue lengths differed");
    }
}

/// 2 high + 2 low: high on P, low on E, no spill.
#[test]
fn hetero_2_high_2_low_stay_in_their_classes() {
    if let Some(o) = hetero_load("hetero-2h2l") {
        o.expect("ok: high on E cores").expect("ok: low on P cores");
    }
}

/// 4 high: one per P core, 2 spill to E, and they return to P when the P ones end.
#[test]
fn hetero_4_high_spill_to_e_and_return() {
    if let Some(o) = hetero_load("hetero-4h") {
        o.expect("ok: every core ran high work").expect("ok: high on P cores");
    }
}
