//! Containment in QEMU (issue 12). `test=contain` runs the cases of
//! zbeam_images::contain_suite (the host runs them too) on 4 cores: the lost-timeout
//! repro, the 3-client server loop, the timer ping-pong with 65 s timeouts, and the
//! monitor and name floods, each ending with its processes gone, no timer armed and
//! the heap back at its size before the case.

use zbeam_qemu_tests::{run, Machine};

#[test]
fn containment_cases_end_alive_at_baseline() {
    let o = run(&Machine { append: "test=contain".into(), ..Machine::default() });
    o.expect_code(0).expect("test contain: PASS").expect("test contain: 0 failed; 0 live, 0 timers");
    for case in ["timeout-repro", "server-loop", "timer-pingpong", "monitor-flood", "name-flood"] {
        o.expect(&format!("case {case} ok"));
    }
}

/// The shell (pid 1 with the workload off) survives what once removed it: a program's
/// KILL, LINK-then-exit and SIGNALs all get BAD_PID. Then 8 spinners at high, the
/// most a user can make (max is refused), load every core, and the shell, at max,
/// still answers ps, kill and halt.
#[test]
fn shell_survives_attacks_and_high_priority_hogs() {
    let mut script = vec![
        ("zbeam> ", "spawn cx-attack\r"),
        ("attack: ", "ps\r"),
        ("zbeam> ", "spawn spin max\r"),
        ("zbeam> ", "spawn cx-attack\r"),
    ];
    for _ in 0..8 {
        script.push(("zbeam> ", "spawn spin high\r"));
    }
    script.extend([("zbeam> ", "ps\r"), ("zbeam> ", "kill $!\r"), ("zbeam> ", "ps\r"), ("zbeam> ", "halt\r")]);
    let o = zbeam_qemu_tests::run_interactive(
        &Machine { append: "workload=off".into(), until: Some("halting"), ..Machine::default() },
        &script,
    );
    o.expect("attack: 2222\n")
        .expect("spawn: max priority is reserved for system tasks")
        .expect("killed ")
        .expect("halting");
    assert_eq!(o.output.matches("attack: 2222").count(), 2, "{}", o.output);
    let shell_rows = o.output.lines().filter(|l| l.contains(" shell ") && l.contains(" max ")).count();
    assert_eq!(shell_rows, 3, "the shell is in every ps, at max:\n{}", o.output);
    let hogs = o.output.lines().filter(|l| l.contains(" spin ") && l.contains(" high ")).count();
    assert!(hogs >= 8 + 7, "8 hogs, then 7 after the kill:\n{}", o.output);
}

/// The heap in use (KiB) after each `mem` command in the output, less what the engine
/// keeps for reuse (its page templates and pools, which keep what a burst of spawns
/// took): a leak shows, a refilled pool does not.
fn heap_used(out: &str) -> Vec<u64> {
    out.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("heap: ")?;
            let used: u64 = rest.split(" KiB used").next()?.parse().ok()?;
            let kept: u64 = rest.split(" KiB used (").nth(1)?.split(" KiB").next()?.parse().ok()?;
            Some(used.saturating_sub(kept))
        })
        .collect()
}

/// Spawn bombs in each style (retry after a sleep, after a yield, and a linked tree
/// that re-spawns whatever dies, so `kill` on its root cannot end it) fill memory up
/// to the spawn reserve; there `top` and `trace on` still work; `stop` ends each
/// bomb, the shell answers throughout, and the process count and the heap come back
/// to where they were.
#[test]
fn spawn_bombs_are_stopped_and_memory_comes_back() {
    let image = zbeam_images::CX_BOMB;
    let mut script = vec![("zbeam> ", "mem\r".to_string())];
    for mode in ["S", "Y", "L"] {
        script.push(("zbeam> ", format!("spawn cx-bomb -- {mode} {image}\r")));
        for _ in 0..4 {
            script.push(("zbeam> ", "stats\r".into()));
        }
        if mode == "S" {
            // Memory is down to the spawn reserve: top and the trace still work.
            script.push(("zbeam> ", "top\r".into()));
            script.push(("top: refresh 2,", "q".into()));
            script.push(("zbeam> ", "trace on\r".into()));
            script.push(("zbeam> ", "trace dump\r".into()));
            script.push(("trace end", "trace off\r".into()));
        }
        if mode == "L" {
            // A plain kill of the root: the tree lives on, and `stop` still finds it
            // through the dead root.
            script.push(("zbeam> ", "kill $!\r".into()));
            script.push(("zbeam> ", "stats\r".into()));
            script.push(("zbeam> ", "stats\r".into()));
        }
        script.push(("zbeam> ", "stop $!\r".into()));
        script.push(("the tree is gone", "".into()));
        script.push(("zbeam> ", "mem\r".into()));
    }
    script.push(("zbeam> ", "halt\r".into()));
    let script: Vec<(&str, &str)> = script.iter().map(|(w, i)| (*w, i.as_str())).collect();
    let o = zbeam_qemu_tests::run_interactive(
        // 128 MiB: the memory budget (or the process table, one slot per 3 KiB of
        // heap) stops each bomb at about 20,000 processes.
        &Machine {
            mem: "128M",
            append: "workload=off".into(),
            until: Some("halting"),
            timeout: std::time::Duration::from_secs(120),
            ..Machine::default()
        },
        &script,
    );
    o.expect("halting").expect("trace: on (").expect("trace begin v1").expect("trace: off");
    let stopped: Vec<u64> =
        o.output.lines().filter_map(|l| l.strip_prefix("stopped ")?.split(' ').next()?.parse().ok()).collect();
    assert_eq!(stopped.len(), 3, "one stop per bomb:\n{}", o.output);
    assert!(stopped.iter().all(|&n| n > 100), "each bomb had grown: {stopped:?}\n{}", o.output);
    // The tree outlived the kill of its root.
    let after_kill = o.output.split("killed ").nth(1).expect("the kill answered");
    let live: u64 = after_kill.split("processes: ").nth(1).and_then(|t| t.split(' ').next()?.parse().ok()).unwrap();
    assert!(live > 100, "the linked tree died with its root?\n{}", o.output);
    // After each stop: the shell alone, and the heap back where it was (within the
    // first-use bookkeeping of the slots the bomb touched).
    let mem = heap_used(&o.output);
    let base = mem[0];
    let after_stops: Vec<&str> = o.output.split("zbeam> mem\n").skip(2).collect();
    assert_eq!(after_stops.len(), 3, "{}", o.output);
    for part in &after_stops {
        assert!(part.contains("; 1 processes"), "only the shell left:\n{part}");
    }
    // The `mem` answers: before, then after each stop. The trace rings the first
    // bomb's round allocated are given back by `trace off` after the dump and the run
    // queues shrink once the bomb is gone, but the timer wheels (which start at 4096
    // entries a core) keep the room they grew to for its tens of thousands of sleeping
    // processes.
    let answers: Vec<u64> = after_stops.iter().filter_map(|p| heap_used(p).first().copied()).collect();
    assert_eq!(answers.len(), 3, "{}", o.output);
    assert!(answers[0] <= base + 2048, "heap {} KiB after the first stop, {base} KiB before\n{}", answers[0], o.output);
    for &m in &answers[1..] {
        assert!(m <= answers[0] + 64, "heap {m} KiB after a later stop, {} KiB after the first", answers[0]);
    }
}

/// With every byte of the heap taken, a spawn, `trace on` and `trace dump` answer
/// with errors instead of panicking, and `trace on` works once memory is back.
#[test]
fn full_heap_gives_errors_not_panics() {
    let o = run(&Machine { append: "test=full-heap".into(), ..Machine::default() });
    o.expect_code(0)
        .expect(" 0 bytes free")
        .expect("spawn -> Err(OutOfMemory)")
        .expect("trace on -> Err(")
        .expect("trace dump -> Err(")
        .expect("after freeing, trace on -> Ok(())")
        .expect("test full-heap: PASS");
}

/// Random Z80 programs (3 batches of 16, seed fixed here; `make fuzz` uses more
/// seeds) on 4 cores: each batch is killed after a second and leaves no process,
/// timer, name or heap behind.
#[test]
fn random_programs_in_the_kernel() {
    let o = run(&Machine { append: "test=fuzz seed=12".into(), ..Machine::default() });
    o.expect_code(0).expect("test fuzz: PASS").expect("test fuzz: 0 failed; 0 live, 0 timers");
}

/// xorshift64, for reproducible random console input.
fn rand(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Random console streams through the line editor: control characters, escape
/// sequences cut anywhere, Enter in the middle of garbage, characters above 0x7f and
/// over-long lines. After each stream (and a Ctrl-U) the shell still answers, and
/// `ps` shows it alone and alive.
#[test]
fn random_console_streams_leave_the_shell_answering() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut script: Vec<(&str, String)> = Vec::new();
    for _ in 0..3 {
        let mut s = String::new();
        for _ in 0..150 {
            let r = rand(&mut seed);
            match r % 10 {
                0 => s.push(char::from((r >> 8) as u8 % 0x20)),
                1 => s.push_str(["\x1b[", "\x1b[A", "\x1b[1;5", "\x1bO", "\x1b"][(r >> 8) as usize % 5]),
                2 => s.push(['é', '☺', '\u{7f}', '\u{ff}'][(r >> 8) as usize % 4]),
                3 if (r >> 8).is_multiple_of(4) => s.push('\r'),
                _ => s.push(char::from(0x20 + (r >> 8) as u8 % 0x5f)),
            }
        }
        // Ctrl-C ends a pending line; Ctrl-] alone at the prompt is only a character.
        s.push_str("\x03\x15uptime\r");
        script.push(("zbeam> ", s));
        script.push(("up ", String::new()));
    }
    script.push(("zbeam> ", "ps\r".into()));
    script.push(("zbeam> ", "halt\r".into()));
    let script: Vec<(&str, &str)> = script.iter().map(|(w, i)| (*w, i.as_str())).collect();
    let o = zbeam_qemu_tests::run_interactive(
        &Machine { append: "workload=off".into(), until: Some("halting"), ..Machine::default() },
        &script,
    );
    o.expect("halting");
    let answers = o.output.lines().filter(|l| l.starts_with("up ") && l.ends_with(" ms")).count();
    assert!(answers >= 3, "uptime answered {answers} times:\n{}", o.output);
    assert!(o.output.contains("1 shown, 1 live"), "the shell alone in ps:\n{}", o.output);
}
