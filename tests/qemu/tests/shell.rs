//! The serial console shell end to end, as a user meets it after `make qemu`: the
//! default workload running, commands typed one by one, answers read back from the
//! console. One boot per test keeps the suite quick; each check says what it proves.

use zbeam_qemu_tests::{run_interactive, Machine, Outcome};

/// The rows of the last table printed by the command typed as `cmd` before `until`
/// (text between `zbeam> {cmd}` and the next prompt).
fn answers<'a>(o: &'a Outcome, cmd: &str) -> Vec<&'a str> {
    let marker = format!("zbeam> {cmd}\n");
    o.output
        .match_indices(&marker)
        .map(|(i, _)| {
            let rest = &o.output[i + marker.len()..];
            &rest[..rest.find("zbeam> ").unwrap_or(rest.len())]
        })
        .collect()
}

/// `ps` rows as (pid, name, prio, state, core).
fn ps_rows(table: &str) -> Vec<(u32, String, String, String, usize)> {
    table
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() != 8 || !["max", "high", "normal", "low"].contains(w.get(2)?) {
                return None;
            }
            let pid = w.first()?.parse().ok()?;
            Some((pid, w.get(1)?.to_string(), w.get(2)?.to_string(), w.get(3)?.to_string(), w.get(4)?.parse().ok()?))
        })
        .collect()
}

fn number_after(text: &str, prefix: &str) -> Option<u64> {
    let i = text.find(prefix)? + prefix.len();
    text[i..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The whole tour on one boot: the workload is up, ps/spawn/kill/sched/stats/send
/// answer correctly, history recalls lines, top refreshes until a key, tracing
/// records events that the host viewer can draw, and bad input gets one-line errors.
#[test]
fn default_workload_and_shell_session() {
    let garbage = concat!(
        "\x02\x05\t",                      // control characters
        "\x1b[Z\x1b[1;5C\x1bOQ",           // escape sequences the editor does not use
        "\u{ff}\u{263a}",                  // bytes above 0x7f
        "\x1b[",                           // an escape sequence that never ends ...
        "9999999999999999999999999999999", // ... within the editor's bound
        "\x15",                            // Ctrl-U: whatever got through is erased
        "help\r"
    );
    let long = format!("{}\r", "a".repeat(200));
    let o = run_interactive(
        &Machine::default(),
        &[
            ("zbeam> ", "ps\r"),
            ("zbeam> ", "spawn spin low 1-2\r"),
            ("zbeam> ", "ps\r"),
            ("zbeam> ", "kill $!\r"),
            ("zbeam> ", "sched\r"),
            ("zbeam> ", "ps\r"),
            ("zbeam> ", "send 2 ping\r"),
            ("zbeam> ", "bogus arg\r"),
            ("zbeam> ", "spawn spin lowest\r"),
            ("zbeam> ", "spawn nosuch\r"),
            ("zbeam> ", "spawn spin 9\r"),
            ("zbeam> ", "kill abc\r"),
            ("zbeam> ", "send 65000 hello\r"),
            ("zbeam> ", "trace maybe\r"),
            ("zbeam> ", "uptime\r"),
            // Up twice (to `trace maybe`), down once (back to `uptime`), Enter.
            ("zbeam> ", "\x1b[A\x1b[A\x1b[B\r"),
            ("zbeam> ", "top\r"),
            ("top: refresh 2,", "q"),
            ("zbeam> ", "trace on\r"),
            ("zbeam> ", "stats\r"),
            ("zbeam> ", "trace dump\r"),
            ("trace end", "trace off\r"),
            ("zbeam> ", garbage),
            ("commands:", &long),
            ("zbeam> ", "junk\x03"),
            ("^C", "stats\r"),
            ("restarts: ", "halt\r"),
        ],
    );
    o.expect_code(0);

    // The workload announced itself, hello (CP/M, BDOS) printed, then the prompt came.
    o.expect("workload: ring of 8 relays").expect("Hello from a Z80 process\nzbeam> ");

    // ps: every part of the workload is there, with a priority, a state and a core.
    let ps = answers(&o, "ps");
    assert_eq!(ps.len(), 3, "three ps answers:\n{}", o.output);
    let rows = ps_rows(ps[0]);
    for name in ["shell", "relay", "burst", "spin", "supervisor", "fragile"] {
        assert!(rows.iter().any(|r| r.1 == name), "ps lists {name}:\n{}", ps[0]);
    }
    assert_eq!(rows.iter().filter(|r| r.1 == "relay").count(), 8, "{}", ps[0]);
    assert!(rows.iter().any(|r| r.1 == "spin" && r.2 == "low"), "{}", ps[0]);
    assert!(rows.iter().any(|r| r.1 == "shell" && r.2 == "max" && r.3 == "run"), "{}", ps[0]);
    assert!(rows.iter().all(|r| ["run", "ready", "wait"].contains(&r.3.as_str()) && r.4 < 4), "{}", ps[0]);

    // spawn with a priority and a core list; the process keeps to those cores; kill $!.
    let spawned = answers(&o, "spawn spin low 1-2")[0];
    let pid = number_after(spawned, "spawned spin as pid ").expect("a spawn answer") as u32;
    assert!(spawned.contains("(low, cores 1-2)"), "{spawned}");
    let row = ps_rows(ps[1]).into_iter().find(|r| r.0 == pid).expect("the new process in ps");
    assert!(row.1 == "spin" && row.2 == "low" && (row.4 == 1 || row.4 == 2), "{row:?}");
    assert_eq!(answers(&o, "kill $!")[0].trim(), format!("killed {pid}"));
    assert!(ps_rows(ps[2]).iter().all(|r| r.0 != pid), "killed pid {pid} still in ps:\n{}", ps[2]);

    // sched: a header and one row per core with every column.
    let sched = answers(&o, "sched")[0];
    assert!(sched.starts_with("core   max  high normal  low  busy%  reductions  switches  steals  migr-in"));
    for c in 0..4 {
        let line = sched.lines().nth(c + 1).unwrap_or("");
        let w: Vec<&str> = line.split_whitespace().collect();
        assert_eq!((w.len(), w[0]), (15, c.to_string().as_str()), "sched row {c}: {line:?}");
        assert!(w[5].ends_with('%'), "{line}");
        // IPIs received, wake-up IPIs sent to the core, wake-ups that found nothing.
        assert!(w[11..14].iter().all(|n| n.parse::<u64>().is_ok()), "{line}");
        // The default workload keeps every core working (one low spinner per core).
        assert!(w[6].parse::<u64>().unwrap_or(0) > 0, "core {c} ran no reductions: {line}");
    }

    // send: text to a relay of the ring.
    o.expect("zbeam> send 2 ping\nsent 4 bytes to 2\n");

    // Errors: one line each, naming what was wrong.
    o.expect("unknown command 'bogus' (type help)\n")
        .expect("spawn: 'lowest' is neither a priority")
        .expect("spawn: unknown image \"nosuch\"")
        .expect("spawn: no core 9 on this machine (cores 0-3)")
        .expect("kill: 'abc' is not a pid")
        .expect("send: 65000: NoSuchProcess")
        .expect("trace: usage: trace on|off|dump");
    for cmd in ["bogus arg", "spawn nosuch", "kill abc", "trace maybe"] {
        assert_eq!(answers(&o, cmd)[0].lines().count(), 1, "{cmd}: one line");
    }

    // History: the recalled line ran uptime a second time.
    assert_eq!(o.output.matches("\nup ").count(), 2, "uptime answered twice:\n{}", o.output);

    // top: redrawn (refresh 1, 2, ...) until the key, then the prompt again.
    o.expect("top: refresh 1,").expect("top: refresh 2,").expect("core  busy%   reductions/s");
    let after_top = &o.output[o.output.find("top: refresh 2,").unwrap()..];
    assert!(after_top.contains("zbeam> trace on\ntrace: on"), "the prompt came back after a key");

    // trace dump: the host viewer parses it and draws one lane per core.
    let trace = zbeam_traceview::parse(&o.output).expect("a complete trace dump");
    assert_eq!(trace.cores, 4);
    assert_eq!(trace.skipped, 0, "every line of the dump is an event");
    let tl = zbeam_traceview::timeline(&trace);
    assert!(tl.slices.len() >= 10, "{} slices", tl.slices.len());
    assert!(tl.names.values().any(|n| n == "shell"), "{:?}", tl.names);
    assert!(tl.names.values().any(|n| n == "relay"), "{:?}", tl.names);
    let svg = zbeam_traceview::svg(&tl);
    assert_eq!(svg.matches(r#"class="lane""#).count(), 4);
    assert_eq!(svg.matches(r#"class="slice""#).count(), tl.slices.len());
    o.expect("trace: off");

    // Garbage: nothing ran from it, and help after it worked.
    assert_eq!(o.output.matches("unknown command").count(), 1, "only 'bogus' was unknown:\n{}", o.output);
    o.expect("commands:\n  help").expect("line too long (at most 128 characters): ignored").expect("junk^C\n");

    // The fragile worker crashed and its supervisor restarted it, and stats says so.
    let stats = answers(&o, "stats");
    let last = stats.last().expect("stats answered");
    assert!(last.contains("processes: ") && last.contains("messages: ") && last.contains("uptime: "), "{last}");
    let restarts = number_after(last, "restarts: ").expect("a restarts line");
    assert!(restarts >= 1, "the fragile worker was restarted: {last}");
    assert!(last.contains("(by the workload's supervisor, pid "), "{last}");
    o.expect("halting");
}

/// `workload=off` boots to the shell alone: nothing but the shell in ps.
#[test]
fn workload_off_boots_the_shell_alone() {
    let o = run_interactive(
        &Machine { append: "workload=off".into(), ..Machine::default() },
        &[("zbeam> ", "ps\r"), ("zbeam> ", "halt\r")],
    );
    o.expect_code(0);
    assert!(!o.output.contains("workload:"), "{}", o.output);
    let rows = ps_rows(answers(&o, "ps")[0]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].1, "shell");
}

/// `fg` hands the console to a process: an unmodified CP/M line-input program reads
/// what is typed (BDOS 10), and the shell gets the console back when it exits.
#[test]
fn fg_gives_console_input_to_a_cpm_program() {
    let o = run_interactive(
        &Machine { append: "workload=off".into(), ..Machine::default() },
        &[
            ("zbeam> ", "spawn cpm-echo\r"),
            ("spawned cpm-echo", "fg $!\r"),
            ("Ctrl-] returns", "zbeam rocks\r"),
            ("[zbeam rocks]", "\r"),
            ("[console back to the shell]", "fg 999\r"),
            ("fg: no process 999", "halt\r"),
        ],
    );
    o.expect_code(0).expect("[zbeam rocks]").expect("[console back to the shell]").expect("fg: no process 999");
}
