//! In-kernel test of SymbOS programs as Z80 processes, selected by `test=symbos`.
//!
//! The kernel puts README.TXT on a shared CP/M disk; then a native driver (max
//! priority, core 0) starts, at once and each bound to its own core in turn, the
//! SymbOS programs `sym-hello` (twice), `sym-kernel` (twice) and `sym-files`, the
//! CP/M program `hello`, a native-ABI `spin` worker at low priority, and a
//! one-for-one supervisor whose permanent child is `sym-crash` (it faults by naming
//! bank 0). It also starts `sym-echo` and sends it "ping": the program sees the
//! driver under SymbOS id 17 and answers it, the driver gets the answer as a zbeam
//! message from the program's pid and sends "q", which ends it. When the programs
//! have ended, the answer has come and the supervisor has restarted the crashing one
//! three times, it prints each program's exit and captured output on
//! one escaped line (the host test, tests/qemu/tests/symbos.rs, compares them byte
//! for byte) and ends QEMU with 0 (pass) or 7 (fail).

use super::images::{capture_on, escaped, take_output};
use crate::panic::finish;
use crate::println;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use spin::Mutex;
use zbeam_engine::cpm::Disk;
use zbeam_engine::supervisor::{ChildSpec, Intensity, Restart, Strategy, Supervisor, SupervisorReport};
use zbeam_engine::{Exit, NativeCx, NativeStep, NativeTask, Pid};
use zbeam_sched::{CoreId, CpuSet, Priority};

/// The programs started at once, with their arguments.
const PROGRAMS: [(&str, &str); 6] = [
    ("sym-hello", "one"),
    ("sym-kernel", ""),
    ("sym-hello", "two"),
    ("sym-kernel", ""),
    ("sym-files", ""),
    ("hello", ""),
];
/// Restarts of the crashing program to wait for.
const RESTARTS: u32 = 3;

/// Starts the runtime with the SymbOS driver.
pub fn main() -> ! {
    capture_on();
    let e = crate::runtime::start();
    let mut disk = Disk::new();
    if let Err(err) = disk.put("README.TXT", b"read me\r\n") {
        println!("test symbos: cannot put README.TXT on the disk: {err:?}");
        finish(7);
    }
    e.set_cpm_disk(Some(disk.into_shared()));
    let driver = Box::new(Driver {
        started: false,
        pids: Vec::new(),
        report: None,
        deadline: 0,
        echo: Pid::KERNEL,
        answer: None,
    });
    super::driver::drive(e, "symbos", driver)
}

struct Driver {
    started: bool,
    pids: Vec<(Pid, &'static str)>,
    report: Option<Arc<Mutex<SupervisorReport>>>,
    deadline: u64,
    /// `sym-echo`'s pid, and its answer (sender pid, bytes) once it came.
    echo: Pid,
    answer: Option<(Pid, Vec<u8>)>,
}

impl Driver {
    fn start(&mut self, cx: &mut NativeCx<'_>) {
        let e = crate::runtime::engine().expect("the engine runs its tasks");
        let n = e.sched().topology().len().max(1);
        let image = |name: &str| {
            e.image_index(name).unwrap_or_else(|| {
                println!("test symbos: no image {name}");
                finish(7)
            })
        };
        for (i, &(name, args)) in PROGRAMS.iter().enumerate() {
            let core = CpuSet::single(CoreId::new(i % n));
            match cx.spawn(image(name), args.as_bytes(), Priority::Normal, core) {
                Ok(pid) => self.pids.push((pid, name)),
                Err(err) => {
                    println!("test symbos: cannot spawn {name}: {err:?}");
                    finish(7);
                }
            }
        }
        if let Err(err) = cx.spawn(image("spin"), &[], Priority::Low, CpuSet::first(n)) {
            println!("test symbos: cannot spawn spin: {err:?}");
            finish(7);
        }
        let child = ChildSpec {
            image: image("sym-crash"),
            args: Vec::new(),
            prio: Priority::Normal,
            affinity: CpuSet::first(n),
            restart: Restart::Permanent,
        };
        let (sup, report) =
            Supervisor::new(Strategy::OneForOne, Intensity { max_restarts: 100, period_ms: 1_000 }, alloc::vec![child]);
        if let Err(err) = cx.spawn_native(sup, Priority::High, CpuSet::first(n)) {
            println!("test symbos: cannot spawn the supervisor: {err:?}");
            finish(7);
        }
        self.report = Some(report);
        match cx.spawn(image("sym-echo"), &[], Priority::Normal, CpuSet::first(n)) {
            Ok(pid) => {
                self.echo = pid;
                self.pids.push((pid, "sym-echo"));
                if let Err(err) = cx.send(pid, b"ping") {
                    println!("test symbos: cannot send to sym-echo: {err:?}");
                    finish(7);
                }
            }
            Err(err) => {
                println!("test symbos: cannot spawn sym-echo: {err:?}");
                finish(7);
            }
        }
        println!("test symbos: started {} programs on {n} cores, spin, and a supervisor of sym-crash", PROGRAMS.len());
    }
}

impl NativeTask for Driver {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let now = cx.now_ms();
        if !self.started {
            self.started = true;
            self.deadline = now + 20_000;
            self.start(cx);
        }
        if let Some(m) = cx.receive() {
            if self.answer.is_none() && m.from == self.echo {
                self.answer = Some((m.from, m.data.to_vec()));
                let _ = cx.send(self.echo, b"q");
            }
        }
        let restarts = self.report.as_ref().map_or(0, |r| r.lock().restarts);
        let running = self.pids.iter().any(|&(p, _)| cx.is_live(p));
        if (running || restarts < RESTARTS) && now < self.deadline {
            return NativeStep::Wait { until: Some(now + 5) };
        }
        let answered = self.answer.as_ref().is_some_and(|(_, d)| d.starts_with(b"ping") && d.len() == 14);
        println!("test symbos: sym-echo answered the driver: {answered}");
        let mut ok = !running && restarts >= RESTARTS && answered;
        for &(pid, name) in &self.pids {
            let exit = cx.last_exit(pid);
            ok &= exit == Some(Exit::Normal);
            println!("test symbos: {name} exit {exit:?} output \"{}\"", escaped(&take_output(pid)));
        }
        println!("test symbos: sym-crash restarted {restarts} times");
        super::driver::verdict("symbos", ok)
    }

    fn name(&self) -> &'static str {
        "symbos-test"
    }
}
