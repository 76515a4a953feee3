//! The shell's `par` command on 4 vCPUs (kernel/src/runtime/par.rs): a loop-parallel
//! program (mandel), a sequential one (crc) and one whose calls run beside their
//! continuations (calls) run through the dispatcher, with its
//! workers as engine processes on the other cores, and once on the reference
//! interpreter. The committed result must equal the sequential one: the command
//! prints a checksum of each final state (registers, memory, console output, counts)
//! and whether they are equal. A CP/M file program runs on the CP/M machine. Bad
//! input gets one `par:` line and the shell answers the next command. A run is its
//! own process: the shell answers while it runs, a second run is refused, and Ctrl-C
//! or `kill` stops it, after which no worker is left and the heap is back where it
//! was. Speedup is printed, never checked: QEMU runs the 4 vCPUs on a shared 2-core
//! host.

use std::time::Duration;
use zbeam_qemu_tests::{run_interactive, Machine};

/// The checksums on the report lines of `which` run ("sequential:" or "dispatcher:"), in order.
fn checksums<'a>(out: &'a str, which: &str) -> Vec<&'a str> {
    out.lines()
        .filter(|l| l.trim_start().starts_with(which))
        .map(|l| l.rsplit("checksum ").next().expect("a checksum").trim())
        .collect()
}

#[test]
fn par_runs_a_program_bit_exact_through_workers_on_four_cores() {
    let o = run_interactive(
        &Machine { append: "workload=off".into(), timeout: Duration::from_secs(240), ..Machine::default() },
        &[
            ("zbeam> ", "par mandel 4\r"),
            ("[par mandel", "par crc 4\r"),
            ("[par crc", "par mandel\r"),
            ("[par mandel", "par nosuch\r"),
            ("zbeam> ", "par crc 0\r"),
            ("zbeam> ", "par crc 9\r"),
            ("zbeam> ", "par spin 2 1\r"),
            ("[par spin", "par crc 2 x\r"),
            ("zbeam> ", "par cpm-random 4\r"),
            ("[par cpm-random", "par calls 4\r"),
            ("[par calls", "uptime\r"),
            ("up ", "halt\r"),
        ],
    );
    let out = &o.output;
    o.expect_code(0)
        .expect("par mandel: 4 instance(s): the dispatcher on core1, 3 worker(s) on cores 0,2,3")
        .expect("[par mandel (pid ")
        .expect("): done; its 3 worker(s) exited]")
        .expect("output: mandel 5A7B")
        .expect("par crc: 4 instance(s)")
        .expect("output: crc 22DB")
        .expect("par: no image 'nosuch' (images: ")
        .expect("par: cores must be at least 1")
        .expect("par: 9 cores asked, the machine has 4")
        .expect("par spin: 2 instance(s)")
        .expect("stopped at its instruction budget (it did not end)")
        .expect("par: budget 'x': millions of instructions")
        // A CP/M file program on the CP/M machine, its file on the in-memory disk.
        .expect("; the CP/M machine\n")
        .expect("output: wrote 7 records | size 1001 | checksum C0C0 |")
        .expect("output: calls 5642")
        .expect("up ");
    // The final states: the committed run's equals the sequential one, for each run.
    let (seq, par) = (checksums(out, "sequential:"), checksums(out, "dispatcher:"));
    assert_eq!(seq.len(), 6, "six runs reported:\n{out}");
    assert_eq!(seq, par, "a committed state differs from the sequential one:\n{out}");
    assert_eq!(out.matches("bit-exact: yes").count(), 6, "every run is bit-exact:\n{out}");
    assert!(!out.contains("bit-exact: NO"), "{out}");
    // mandel's loops were run in waves and workers committed speculative tasks.
    let mandel = &out[out.find("par mandel: 4").expect("the mandel report")..];
    let waves = mandel.lines().find(|l| l.trim_start().starts_with("waves ")).expect("a waves line");
    assert!(!waves.starts_with("  waves 0:"), "mandel ran no waves: {waves}");
    assert!(!waves.contains(" 0 committed"), "no speculative task of mandel committed: {waves}");
    assert!(mandel.contains("region ") && mandel.contains("chosen "), "the learnt choices are reported:\n{mandel}");
    // calls' call sites were observed and judged, and the report names them.
    let calls = &out[out.find("par calls: 4").expect("the calls report")..];
    assert!(calls.contains("call at "), "the call sites are reported:\n{calls}");
    // The second mandel run starts from the policy the first one learnt.
    assert!(out.contains("(run 2 of this image's policy)"), "{out}");
    // Each bad argument got its one line and no run.
    assert_eq!(out.matches("runs as pid").count(), 6, "six runs started:\n{out}");
}

/// `heap: N KiB used` of each `mem` in `out`, in order.
fn heap_used(out: &str) -> Vec<u64> {
    out.lines()
        .filter(|l| l.contains("kept for reuse"))
        .filter_map(|l| l.strip_prefix("heap: "))
        .filter_map(|l| l.split(" KiB used").next()?.parse().ok())
        .collect()
}

/// The text of `out` from the first `from` on up to the next `to` (exclusive).
fn between<'a>(out: &'a str, from: &str, to: &str) -> &'a str {
    let at = out.find(from).unwrap_or_else(|| panic!("no '{from}' in:\n{out}"));
    let rest = &out[at..];
    &rest[..rest.find(to).unwrap_or(rest.len())]
}

#[test]
fn par_runs_as_a_process_the_shell_answers_and_ctrl_c_or_kill_stops_it() {
    let o = run_interactive(
        &Machine { append: "workload=off".into(), timeout: Duration::from_secs(240), ..Machine::default() },
        &[
            // A first run to its end, so the policy it keeps is there before the baseline.
            ("zbeam> ", "par spin 4 1\r"),
            ("[par spin", "mem\r"),
            ("pool depot", "par spin 4 100000\r"),
            // While it runs (100 G instructions): the shell answers, a second run is refused.
            ("runs as pid", "ps\r"),
            ("spawned since boot", "stats\r"),
            ("uptime: ", "par crc 2\r"),
            ("one run at a time", "\x03"),
            ("[par spin", "ps\r"),
            ("spawned since boot", "mem\r"),
            // `kill` of the run's pid ($! is the last run started here) stops it too.
            ("pool depot", "par spin 4 100000\r"),
            ("runs as pid", "kill $!\r"),
            ("[par spin", "ps\r"),
            ("spawned since boot", "mem\r"),
            ("pool depot", "halt\r"),
        ],
    );
    let out = &o.output;
    o.expect_code(0)
        .expect("par spin: 4 instance(s): the dispatcher on core1, 3 worker(s) on cores 0,2,3")
        .expect("processes: ")
        .expect("par: 'spin' runs as pid ")
        .expect("^C\npar: stopping pid ")
        .expect("par spin: stopped by Ctrl-C during the dispatched run")
        .expect("): stopped by Ctrl-C during the dispatched run; its 3 worker(s) exited]")
        .expect("par spin: stopped by kill during the dispatched run")
        .expect("): stopped by kill during the dispatched run; its 3 worker(s) exited]");
    // The ps typed while the run went on shows the run and its workers.
    let long_run = &out[out.find("par spin 4 100000").expect("the long run")..];
    let during = between(long_run, "runs as pid", "spawned since boot");
    assert!(during.contains(" par "), "the run's process in ps:\n{during}");
    assert_eq!(during.matches(" par-worker ").count(), 3, "its workers in ps:\n{during}");
    // The shell answered before the run ended.
    let stopped = out.find("par spin: stopped by Ctrl-C").expect("the stop line");
    assert!(out.find("uptime: ").expect("stats answered") < stopped, "stats answered while it ran:\n{out}");
    // After each stop: no process of the run is left and the heap is where it was.
    for end in ["): stopped by Ctrl-C", "): stopped by kill"] {
        let after = between(out, end, "spawned since boot");
        assert!(!after.contains(" par-worker ") && !after.contains(" par "), "a process of the run is left:\n{after}");
    }
    let heap = heap_used(out);
    assert_eq!(heap.len(), 3, "three mem outputs:\n{out}");
    for (i, &h) in heap[1..].iter().enumerate() {
        // A worker's task alone holds 128 KiB, the dispatcher's state more.
        assert!(h <= heap[0] + 32, "stop {}: heap {h} KiB used against {} KiB before:\n{out}", i + 1, heap[0]);
    }
    println!("heap used (KiB): before {}, after Ctrl-C {}, after kill {}", heap[0], heap[1], heap[2]);
}

/// On a one-core machine the run shares core 0 with the shell: it has no workers,
/// ends bit-exact, and the shell answers again once it has ended.
#[test]
fn par_on_one_core_runs_beside_the_shell_and_ends() {
    let o = run_interactive(
        &Machine { smp: 1, append: "workload=off".into(), timeout: Duration::from_secs(120), ..Machine::default() },
        &[("zbeam> ", "par crc\r"), ("[par crc", "uptime\r"), ("up ", "halt\r")],
    );
    let out = &o.output;
    o.expect_code(0)
        .expect("par crc: runs as pid ")
        .expect("par crc: 1 instance(s): the dispatcher on core0, 0 worker(s) on cores (none)")
        .expect("output: crc 22DB")
        .expect("bit-exact: yes")
        .expect("): done; no workers]")
        .expect("up ");
    let (seq, par) = (checksums(out, "sequential:"), checksums(out, "dispatcher:"));
    assert_eq!((seq.len(), seq), (1, par), "{out}");
}

/// The in-kernel figures for BENCHMARKS.md (not part of `make test`): every suite
/// program `PAR_RUNS` times (default 3) on 4 vCPUs in one boot, so the policy learnt
/// by one run is used by the next; prints a Markdown table of the sequential and
/// dispatched wall times (guest counter), the speedup per run and the median, the
/// median of a wave's fixed cost over the runs that had waves, and whether every
/// run was bit-exact. Run with
/// `cargo test -p zbeam-qemu-tests --test par -- --ignored --nocapture`.
#[test]
#[ignore]
fn par_figures() {
    const PROGRAMS: [&str; 12] = [
        "blocksum",
        "callchain",
        "calls",
        "carried",
        "crc",
        "histogram",
        "listwalk",
        "mandel",
        "matmul",
        "nested",
        "sieve",
        "vecops",
    ];
    let runs: usize = std::env::var("PAR_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let cmds: Vec<String> = PROGRAMS.iter().flat_map(|p| std::iter::repeat_n(format!("par {p} 4\r"), runs)).collect();
    let mut script = vec![("zbeam> ", cmds[0].as_str())];
    // The next run starts once the shell has said this one ended.
    script.extend(cmds[1..].iter().map(|c| ("[par ", c.as_str())));
    script.push(("[par ", "halt\r"));
    let timeout = Duration::from_secs(120 + 60 * runs as u64);
    let o = run_interactive(&Machine { append: "workload=off".into(), timeout, ..Machine::default() }, &script);
    let ms = |line: &str| -> f64 {
        let at = line.find(" ms,").expect("a time");
        line[..at].rsplit(' ').next().expect("a number").parse().expect("milliseconds")
    };
    let seq: Vec<f64> = o.output.lines().filter(|l| l.trim_start().starts_with("sequential:")).map(ms).collect();
    let par: Vec<f64> = o.output.lines().filter(|l| l.trim_start().starts_with("dispatcher:")).map(ms).collect();
    let exact: Vec<bool> =
        o.output.lines().filter(|l| l.trim_start().starts_with("bit-exact:")).map(|l| l.contains("yes")).collect();
    assert_eq!(seq.len(), PROGRAMS.len() * runs, "every run reported:\n{}", o.output);
    // A wave's fixed cost (µs) per run, for the runs that had waves.
    let mut fixed: Vec<Option<f64>> = vec![None; seq.len()];
    let mut run = 0;
    for l in o.output.lines().map(str::trim_start) {
        if l.starts_with("sequential:") {
            run += 1;
        } else if let Some(rest) = l.strip_prefix("a wave's fixed cost: ") {
            fixed[run - 1] = rest.split(" us").next().and_then(|n| n.parse().ok());
        }
    }
    println!(
        "| program | sequential ms (median) | dispatcher ms (median) | speedup per run | median speedup | \
         wave fixed cost µs (median) | exact |"
    );
    println!("|---|---:|---:|---|---:|---:|---|");
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (i, p) in PROGRAMS.iter().enumerate() {
        let r = i * runs..(i + 1) * runs;
        let speedups: Vec<f64> = r.clone().map(|k| seq[k] / par[k].max(1.0)).collect();
        let per_run: Vec<String> = speedups.iter().map(|s| format!("{s:.2}x")).collect();
        let costs: Vec<f64> = fixed[r.clone()].iter().flatten().copied().collect();
        let cost = if costs.is_empty() { String::from("-") } else { format!("{:.0}", median(costs)) };
        println!(
            "| {p} | {:.0} | {:.0} | {} | {:.2}x | {cost} | {} |",
            median(seq[r.clone()].to_vec()),
            median(par[r.clone()].to_vec()),
            per_run.join(" "),
            median(speedups),
            if exact[r].iter().all(|&e| e) { "yes" } else { "NO" }
        );
    }
}
