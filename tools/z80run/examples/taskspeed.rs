//! How much slower a speculative task runs than the plain interpreter: each program
//! (scale 5) runs once on the z80 crate's CP/M harness and once as one dispatcher
//! `Task` from the same start (read and write logging, the head and exit tests on
//! every instruction, no waves), both timed by the thread's CPU time; the best of 5
//! of each is printed. Run: `cargo run --release -p zbeam-z80run --example taskspeed`.
//!
//! `taskspeed NAME MODE RUNS SCALE` runs one program only. MODE `both` times as
//! above; `plain` or `task` runs that side RUNS times untimed, for callgrind, whose
//! instruction counts do not depend on the host's load (subtract a run with RUNS 0):
//! `valgrind --tool=callgrind target/release/examples/taskspeed matmul task 1 1`.
//! MODE `first` is `task` without the read log, as a wave's first task and a redo run.
use zbeam_dispatch::task::Task;
use zbeam_z80::cpm::CpmMachine;

fn cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let names: Vec<&str> = match args.first() {
        Some(n) => vec![n.as_str()],
        None => vec!["matmul", "mandel", "vecops", "sieve"],
    };
    let mode = args.get(1).map_or("both", |m| m.as_str());
    let runs: u32 = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(5);
    let scale: u8 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let (do_plain, do_task) = match mode {
        "plain" => (true, false),
        "task" | "first" => (false, true),
        _ => (true, true),
    };
    let log_reads = mode != "first";
    // The thread CPU clock reads the vDSO, which valgrind does not provide.
    let timed = do_plain && do_task;
    let clock = || if timed { cpu_ns() } else { 0 };
    for name in names {
        let p = zbeam_dispatch::suite::find(name).expect("a suite program");
        let mut img = p.image.to_vec();
        img[3] = scale;
        let instructions = CpmMachine::new(&img)
            .expect("the image fits")
            .run(u64::MAX, &mut |_| {})
            .expect("the program ends")
            .instructions;
        let (mut plain, mut task) = (u64::MAX, u64::MAX);
        for _ in 0..runs {
            if do_plain {
                let mut m = Box::new(CpmMachine::new(&img).expect("the image fits"));
                let t0 = clock();
                m.run(u64::MAX, &mut |_| {}).expect("the program ends");
                plain = plain.min(clock() - t0);
            }
            if do_task {
                let (start, mem) = zbeam_dispatch::reference::load(&img).expect("the image fits");
                let mut t = Task::new();
                // A head the program never reaches: the task runs until the program's
                // first system call (its output at the end), less a few instructions.
                t.prepare(
                    &start,
                    zbeam_dispatch::task::Memory::Copy(&mem),
                    0xFFF0,
                    1,
                    None,
                    0,
                    instructions.saturating_sub(50),
                );
                t.bus.log_reads = log_reads;
                let t0 = clock();
                t.run();
                task = task.min(clock() - t0);
            }
        }
        if !timed {
            println!("{name}: {runs} {mode} runs of {instructions} instructions");
            continue;
        }
        println!(
            "{name}: plain interpreter {:.1} ms, one task {:.1} ms: {:.3}x",
            plain as f64 / 1e6,
            task as f64 / 1e6,
            task as f64 / plain as f64
        );
    }
}
