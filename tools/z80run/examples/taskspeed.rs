//! How much slower a speculative task runs than the plain interpreter: each program
//! (scale 5) runs once on the z80 crate's CP/M harness and once as one dispatcher
//! `Task` from the same start (read and write logging, the head and exit tests on
//! every instruction, no waves), both timed by the thread's CPU time; the best of 5
//! of each is printed. Run: `cargo run --release -p zbeam-z80run --example taskspeed`.
use zbeam_dispatch::task::Task;
use zbeam_z80::cpm::CpmMachine;

fn cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn main() {
    for name in ["matmul", "mandel", "vecops", "sieve"] {
        let p = zbeam_dispatch::suite::find(name).expect("a suite program");
        let mut img = p.image.to_vec();
        img[3] = 5;
        let (mut plain, mut task) = (u64::MAX, u64::MAX);
        for _ in 0..5 {
            let mut m = Box::new(CpmMachine::new(&img).expect("the image fits"));
            let t0 = cpu_ns();
            let s = m.run(u64::MAX, &mut |_| {}).expect("the program ends");
            plain = plain.min(cpu_ns() - t0);
            let (start, mem) = zbeam_dispatch::reference::load(&img).expect("the image fits");
            let mut t = Task::new();
            // A head the program never reaches: the task runs until the program's
            // first system call (its output at the end), less a few instructions.
            t.prepare(&start, &mem, 0xFFF0, 1, None, 0, s.instructions.saturating_sub(50));
            let t0 = cpu_ns();
            t.run();
            task = task.min(cpu_ns() - t0);
        }
        println!(
            "{name}: plain interpreter {:.1} ms, one task {:.1} ms: {:.3}x",
            plain as f64 / 1e6,
            task as f64 / 1e6,
            task as f64 / plain as f64
        );
    }
}
