//! The soak (kernel/src/ktest/soak.rs): churn of spawns, kills, links, monitors,
//! supervisor restarts, message floods and spawn bombs stopped by tree, with the
//! shell running. `make test` runs it for 60 s; `make soak MINUTES=n` sets
//! SOAK_SECONDS. The shell must answer a command typed after every report of the
//! driver (every 5 s), and the run must end with everything gone and the heap back
//! at its baseline (`soak: PASS`).

use std::time::Duration;
use zbeam_qemu_tests::{run_interactive, Machine};

#[test]
fn churn_with_the_shell_answering_throughout() {
    let secs: u64 = std::env::var("SOAK_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let reports = secs / 5;
    let marks: Vec<String> = (1..=reports).map(|k| format!("soak: t={} s,", k * 5)).collect();
    let mut script: Vec<(&str, &str)> = marks.iter().map(|m| (m.as_str(), "stats\r")).collect();
    script.push(("soak: PASS", "mem\r"));
    script.push(("zbeam> ", "halt\r"));
    let o = run_interactive(
        &Machine {
            append: format!("test=soak soak={secs}"),
            until: Some("halting"),
            timeout: Duration::from_secs(secs + 90),
            ..Machine::default()
        },
        &script,
    );
    let out = o.output.replace('\0', "");
    assert!(out.contains("soak: PASS"), "the soak did not pass:\n{out}");
    assert!(out.contains("halting"), "the shell did not halt at the end:\n{out}");
    let answers = out.matches("processes: ").count();
    assert!(answers as u64 >= reports, "{answers} stats answers for {reports} reports:\n{out}");
    let restarts: u64 = out
        .lines()
        .filter_map(|l| l.get(l.find("soak: t=")?..)?.rsplit(", ").next()?.strip_suffix(" restarts")?.parse().ok())
        .max()
        .unwrap_or(0);
    assert!(restarts >= secs, "only {restarts} supervisor restarts in {secs} s");
    for line in out.lines().filter(|l| l.contains("soak: ")) {
        println!("{line}");
    }
}
