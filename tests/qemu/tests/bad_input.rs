//! Broken device trees: a clear message on whatever console exists, no jump through a
//! null release address, and nothing else harmed.

use std::time::Duration;
use zbeam_qemu_tests::{edited_dtb, run, Machine};

const QEMU_DTB: &str = "dtb/qemu-virt-gicv2-smp4.dtb";

fn replace_once(s: String, from: &str, to: &str) -> String {
    assert!(s.contains(from), "the tree lacks {from:?}");
    s.replacen(from, to, 1)
}

/// No usable console (the only UART is of an unknown kind): the kernel says so on
/// the fallback console and exits.
#[test]
fn no_console_is_reported_on_the_fallback_uart() {
    let Some(dtb) = edited_dtb(QEMU_DTB, "no-console", |s| {
        replace_once(s, "compatible = \"arm,pl011\\0arm,primecell\";", "compatible = \"vendor,unknown-uart\";")
    }) else {
        return;
    };
    let o = run(&Machine { dtb: Some(dtb), append: "test=boot".into(), ..Machine::default() });
    o.expect_code(3).expect("zbeam: cannot boot:").expect("console");
    assert!(!o.output.contains("core 1 online"), "no core may start:\n{}", o.output);
}

/// The interrupt controller is of a kind the kernel does not drive.
#[test]
fn no_usable_interrupt_controller_is_reported() {
    let Some(dtb) = edited_dtb(QEMU_DTB, "no-intc", |s| {
        replace_once(s, "compatible = \"arm,cortex-a15-gic\";", "compatible = \"vendor,unknown-intc\";")
    }) else {
        return;
    };
    let o = run(&Machine { dtb: Some(dtb), append: "test=boot".into(), ..Machine::default() });
    o.expect_code(3).expect("zbeam: cannot boot:").expect("interrupt controller");
}

fn cpu2_spin_table(s: String, release: &str) -> String {
    let at = s.find("cpu@2 {").expect("cpu@2");
    let (head, tail) = s.split_at(at);
    let tail = tail.replacen("enable-method = \"psci\";", &format!("enable-method = \"spin-table\";{release}"), 1);
    format!("{head}{tail}")
}

/// A spin-table CPU whose release address is still 0 stays offline; the rest boot.
#[test]
fn spin_table_cpu_with_zero_release_address_stays_offline() {
    let Some(dtb) = edited_dtb(QEMU_DTB, "spin-zero", |s| cpu2_spin_table(s, " cpu-release-addr = <0x00 0x00>;"))
    else {
        return;
    };
    let o = run(&Machine { dtb: Some(dtb), append: "test=boot".into(), ..Machine::default() });
    o.expect_code(0)
        .expect("core 2: mpidr 0x2 is spin-table without a release address; left offline")
        .expect("core 1 online")
        .expect("core 3 online")
        .expect("test boot: 3 cores online");
}

/// A spin-table CPU with no release address at all makes the tree invalid: the
/// kernel reports it on the fallback console and halts instead of guessing.
#[test]
fn spin_table_cpu_without_release_address_is_rejected() {
    let Some(dtb) = edited_dtb(QEMU_DTB, "spin-none", |s| cpu2_spin_table(s, "")) else {
        return;
    };
    let o = run(&Machine {
        dtb: Some(dtb),
        append: "test=boot".into(),
        until: Some("cannot boot"),
        timeout: Duration::from_secs(60),
        ..Machine::default()
    });
    o.expect("zbeam: cannot boot: device tree at 0x").expect("release");
    assert!(!o.output.contains("online"), "no core may start:\n{}", o.output);
}
