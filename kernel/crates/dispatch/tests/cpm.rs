//! The CP/M test programs (`programs/cpm`: copy, dir, random, echo) through the
//! dispatcher on the CP/M machine (`zbeam-cpm`'s BDOS and BIOS, files on its
//! in-memory disk): each ends bit-exact with the sequential run on the same machine
//! (registers, memory, console output, counts, how it ended) and leaves the same
//! files, on 1 to 4 instances with several seeds and task sizes, and when the
//! console input runs out; the suite's programs on the same machine are speculated
//! on, and wrong predictions injected there are never committed.

mod common;

use common::arch;
use zbeam_cpm::{Bdos, Disk, Geometry};
use zbeam_dispatch::cpm::CpmSystem;
use zbeam_dispatch::dispatch::Outcome;
use zbeam_dispatch::reference::{report_checksum, sequential_checksum, sequential_cpm};
use zbeam_dispatch::{run_cpm, Config, CostModel, Policy, RunError};

fn image(name: &str) -> &'static [u8] {
    zbeam_dispatch::suite::CPM.iter().find(|(n, _)| *n == name).map(|(_, b)| *b).expect("a CP/M test program")
}

/// `len` bytes of text: 63 letters and a line feed per line.
fn text(len: usize) -> Vec<u8> {
    (0..len).map(|i| if i % 64 == 63 { b'\n' } else { b'a' + (i % 26) as u8 }).collect()
}

/// One case: a program, its command tail, console input and starting files.
struct Case {
    name: &'static str,
    tail: &'static str,
    input: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    geometry: Option<Geometry>,
    /// The console output the sequential run must give (zbeam-cpm's own tests agree).
    expected: &'static str,
}

impl Case {
    fn system(&self) -> CpmSystem {
        let mut disk = self.geometry.map_or_else(Disk::new, Disk::with_geometry);
        for (n, b) in &self.files {
            disk.put(n, b).expect("the starting files fit");
        }
        let mut sys = CpmSystem::new(self.tail.as_bytes(), self.input.as_bytes());
        sys.bdos = Bdos::with_disk(disk);
        sys
    }
}

/// Every file on the system's disk, by name.
fn files(sys: &CpmSystem) -> Vec<(String, Vec<u8>)> {
    let disk = sys.bdos.own_disk().expect("the case's own disk");
    disk.names().into_iter().map(|n| (n.clone(), disk.get(&n).expect("a listed file"))).collect()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "cpm-copy",
            tail: " src.txt dst.txt",
            input: "",
            files: vec![("SRC.TXT", text(40_000))],
            geometry: None,
            expected: "copied 313 records\r\n",
        },
        Case {
            name: "cpm-copy",
            tail: " big.dat copy.dat",
            input: "",
            files: vec![("BIG.DAT", text(20 * 1024))],
            geometry: Some(Geometry::new(24, 32).expect("a valid geometry")),
            expected: "disk full\r\n",
        },
        Case { name: "cpm-copy", tail: " none.txt b.txt", input: "", files: vec![], geometry: None, expected: "no source file\r\n" },
        Case {
            name: "cpm-random",
            tail: "",
            input: "",
            files: vec![],
            geometry: None,
            expected: "wrote 7 records\r\nsize 1001\r\nchecksum C0C0\r\nunwritten 01 04\r\n\
                       sequential after random: 80 81\r\nnext record 130\r\nclosed\r\n",
        },
        Case {
            name: "cpm-dir",
            tail: " b*.*",
            input: "",
            files: vec![("B.COM", b"x".to_vec()), ("BIG.DAT", text(40_000)), ("A.TXT", b"a".to_vec())],
            geometry: None,
            expected: "B.COM\r\nBIG.DAT\r\n2 file(s)\r\n",
        },
        Case {
            name: "cpm-echo",
            tail: "",
            input: "helo\x08lo world\rabc\x08\x08\x08xy\r\r",
            files: vec![],
            geometry: None,
            expected: "> helo\x08 \x08lo world\r\n[hello world] 11\r\n> abc\x08 \x08\x08 \x08\x08 \x08xy\r\n[xy] 2\r\n> \r\nbye\r\n",
        },
        // The input ends inside a line: both runs stop where the BDOS waits for more.
        Case { name: "cpm-echo", tail: "", input: "part", files: vec![], geometry: None, expected: "> part" },
    ]
}

/// Runs `case` sequentially and through the dispatcher with `cfg` on `instances`
/// model instances; asserts the two are the same in every respect.
/// `min_task`: the smallest task the model pool accepts, in T-states.
fn check(case: &Case, cfg: &Config, instances: usize, min_task: u64, policy: &mut Policy) -> zbeam_dispatch::Stats {
    let what = format!("{} '{}' on {instances} (seed {}, inject {})", case.name, case.tail, cfg.seed, cfg.inject_every);
    let img = image(case.name);
    let mut seq_sys = case.system();
    let mut seq_out = Vec::new();
    let s = sequential_cpm(img, &mut seq_sys, u64::MAX / 2, &mut |b| seq_out.push(b));
    assert_eq!(String::from_utf8_lossy(&seq_out), case.expected, "{what}: the sequential output");
    let mut sys = case.system();
    let mut out = Vec::new();
    let mut pool = CostModel::new(instances, 2000, 1);
    pool.min_task = min_task;
    let d = run_cpm(img, &mut sys, cfg, &mut pool, policy, &mut |b| out.push(b));
    assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&seq_out), "{what}: console output");
    assert_eq!((d.instructions, d.tstates), (s.instructions, s.tstates), "{what}: counts");
    assert_eq!(arch(&d.cpu), arch(&s.cpu), "{what}: registers");
    assert!(d.mem[..] == s.mem[..], "{what}: memory");
    assert_eq!(d.result, s.result, "{what}: how it ended");
    assert_eq!(report_checksum(&d, &out), sequential_checksum(&s, &seq_out), "{what}: checksum");
    assert_eq!(files(&sys), files(&seq_sys), "{what}: the files left on the disk");
    d.stats
}

#[test]
fn cpm_programs_run_bit_exact_through_the_dispatcher() {
    for case in cases() {
        for instances in 1..=4 {
            for seed in [1, 7, 42] {
                let cfg = Config { tasks: instances, seed, ..Config::default() };
                for min_task in [40_000, 200] {
                    check(&case, &cfg, instances, min_task, &mut Policy::new(image(case.name)));
                }
            }
        }
        // A policy persisted through its text form over several runs.
        let img = image(case.name);
        let mut policy = Policy::new(img);
        for seed in 0..6 {
            let cfg = Config { tasks: 3, seed, ..Config::default() };
            check(&case, &cfg, 3, 200, &mut policy);
            policy = Policy::from_text(&policy.to_text(), img).expect("the policy round-trips");
        }
    }
}

/// The CP/M test programs' loops all carry a dependence (a running pointer or sum, a
/// system call in every iteration), so the dispatcher leaves them sequential. The
/// suite's programs, which call only BDOS 2, 9 and 0, run on the CP/M machine too,
/// and their loops are speculated on there: wrong predictions injected into them are
/// never committed, and each still ends bit-exact with its recorded output.
#[test]
fn speculation_on_the_cpm_machine_commits_no_wrong_prediction() {
    let mut committed = 0;
    for p in zbeam_dispatch::suite::PROGRAMS {
        for every in [0, 2] {
            let mut seq_sys = CpmSystem::new(b"", b"");
            let mut seq_out = Vec::new();
            let s = sequential_cpm(p.image, &mut seq_sys, u64::MAX / 2, &mut |b| seq_out.push(b));
            assert_eq!(seq_out, p.expected, "{}: the output on the CP/M machine", p.name);
            let cfg = Config { tasks: 4, seed: 5, inject_every: every, log_tasks: true, ..Config::default() };
            let mut sys = CpmSystem::new(b"", b"");
            let mut out = Vec::new();
            let mut pool = CostModel::new(4, 2000, 1);
            let d = run_cpm(p.image, &mut sys, &cfg, &mut pool, &mut Policy::new(p.image), &mut |b| out.push(b));
            assert_eq!(report_checksum(&d, &out), sequential_checksum(&s, &seq_out), "{} (inject {every})", p.name);
            assert!(d.mem[..] == s.mem[..] && arch(&d.cpu) == arch(&s.cpu), "{} (inject {every})", p.name);
            for t in &d.log {
                assert!(!(t.injected && t.outcome == Outcome::Committed), "{}: an injected task committed", p.name);
            }
            committed += d.stats.committed;
        }
    }
    assert!(committed > 0, "nothing was speculated on the CP/M machine");
}

#[test]
fn the_cpm_machine_ends_runs_with_clear_reasons() {
    let mut sink = |_| {};
    let mut sys = CpmSystem::new(b"", b"");
    let r = sequential_cpm(&vec![0; 0x10000], &mut sys, 100, &mut sink);
    assert_eq!(r.result, Err(RunError::ImageTooLarge(0x10000)));
    // echo waiting for a line that never comes.
    let r = sequential_cpm(image("cpm-echo"), &mut CpmSystem::new(b"", b""), 1_000_000, &mut sink);
    assert_eq!(r.result, Err(RunError::NoInput));
    // LD C,14 ; LD E,1 ; CALL 5: select drive B:, a BDOS error that ends the program.
    let r = sequential_cpm(&[0x0E, 14, 0x1E, 1, 0xCD, 5, 0, 0xC9], &mut CpmSystem::new(b"", b""), 1000, &mut sink);
    assert!(matches!(r.result, Err(RunError::Cpm(_))), "{:?}", r.result);
    // A jump into the BIOS page that is no entry point.
    let r = sequential_cpm(&[0xC3, 0xF8, 0xFF], &mut CpmSystem::new(b"", b""), 1000, &mut sink);
    assert!(matches!(r.result, Err(RunError::Cpm(_)) | Ok(())), "{:?}", r.result);
    // A program that never ends stops at the limit, through the dispatcher too.
    let forever = [0x18, 0xFE];
    let r = sequential_cpm(&forever, &mut CpmSystem::new(b"", b""), 5000, &mut sink);
    let cfg = Config { tasks: 2, max_instructions: 5000, ..Config::default() };
    let d = run_cpm(
        &forever,
        &mut CpmSystem::new(b"", b""),
        &cfg,
        &mut CostModel::new(2, 2000, 1),
        &mut Policy::new(&forever),
        &mut sink,
    );
    assert_eq!((r.result, r.instructions), (Err(RunError::InstructionLimit), 5000));
    assert_eq!((d.result, d.instructions, d.tstates), (r.result, r.instructions, r.tstates));
}
