//! The hosted dispatcher pool: tasks run on persistent worker threads (Linux
//! threads), one Z80 instance each, with the calling thread as instance 0.
//!
//! What: [`Threads`] implements `zbeam_dispatch::Pool`. A wave's tasks 1.. are moved
//! (their buffers are boxed, so a move is a few words) to the workers over
//! channels, task 0 runs on the caller, and the finished tasks come back in their
//! slots.
//!
//! Two clocks ([`Clock`]):
//! * `Wall`: wall-clock nanoseconds since the pool was made; a task's `elapsed` is
//!   the wall time it ran. This is what a run really took on the host as it is.
//! * `Cpu`: what the run would take on idle cores, from the time each thread really
//!   ran on a CPU (`CLOCK_THREAD_CPUTIME_ID`), so time spent waiting for a CPU taken
//!   by other programs is left out. The clock is the calling thread's CPU time, plus for each wave the time its slowest
//!   worker task ran beyond task 0 (the caller waits that long on idle cores). What
//!   it leaves out, stated openly: waking a worker and handing a task over (a few
//!   microseconds on an idle host), and two threads' sharing of caches.
//!   The learner then learns what pays on idle cores, the same on a loaded host.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Instant;
use zbeam_dispatch::task::Task;
use zbeam_dispatch::Pool;

/// How the pool tells time (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Wall-clock time.
    Wall,
    /// Per-thread run time: the run's time on idle cores.
    Cpu,
}

/// The calling thread's CPU time in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`: the time
/// it ran, not the time it waited for a CPU).
pub fn thread_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Runs `task` on the calling thread, setting its `elapsed` in `clock`'s unit.
fn timed(task: &mut Task, clock: Clock) {
    match clock {
        Clock::Wall => {
            let t0 = Instant::now();
            task.run();
            task.elapsed = t0.elapsed().as_nanos() as u64;
        }
        Clock::Cpu => {
            let t0 = thread_cpu_ns();
            task.run();
            task.elapsed = thread_cpu_ns().saturating_sub(t0);
        }
    }
}

struct Worker {
    to: Sender<Task>,
    from: Receiver<Task>,
    handle: Option<JoinHandle<()>>,
}

/// `instances - 1` worker threads and the caller.
pub struct Threads {
    workers: Vec<Worker>,
    spares: Vec<Task>,
    start: Instant,
    clock: Clock,
    /// [`Clock::Cpu`]: what the waves' slowest worker tasks added beyond task 0.
    waited: u64,
    /// The smallest task worth sending, in T-states.
    pub min_task: u64,
}

/// Hand-off, two 64 KiB copies, validation and commit cost about 10 to 30
/// microseconds of the dispatcher's time a wave on an idle host (`z80run` prints the
/// measured figure); at about 2.5 T-states a nanosecond, tasks of 500,000 T-states
/// (about 200 microseconds) keep that near 5% to 10%.
pub const DEFAULT_MIN_TASK: u64 = 500_000;

impl Threads {
    /// A pool of `instances` instances (at least 1) timed by the wall clock.
    pub fn new(instances: usize) -> Threads {
        Threads::with_clock(instances, Clock::Wall)
    }

    /// A pool of `instances` instances (at least 1) timed by `clock`.
    pub fn with_clock(instances: usize, clock: Clock) -> Threads {
        let workers = (1..instances.max(1))
            .map(|_| {
                let (to, jobs) = channel::<Task>();
                let (done, from) = channel::<Task>();
                let handle = std::thread::spawn(move || {
                    for mut task in jobs {
                        timed(&mut task, clock);
                        if done.send(task).is_err() {
                            break;
                        }
                    }
                });
                Worker { to, from, handle: Some(handle) }
            })
            .collect::<Vec<_>>();
        let spares = workers.iter().map(|_| Task::new()).collect();
        Threads { workers, spares, start: Instant::now(), clock, waited: 0, min_task: DEFAULT_MIN_TASK }
    }
}

impl Pool for Threads {
    fn instances(&self) -> usize {
        self.workers.len() + 1
    }

    fn run_all(&mut self, tasks: &mut [Task]) {
        let (first, rest) = match tasks.split_first_mut() {
            Some(x) => x,
            None => return,
        };
        for (slot, w) in rest.iter_mut().zip(&self.workers) {
            let spare = self.spares.pop().expect("one spare task per worker");
            let job = std::mem::replace(slot, spare);
            w.to.send(job).expect("the worker thread is alive");
        }
        timed(first, self.clock);
        for (slot, w) in rest.iter_mut().zip(&self.workers) {
            let done = w.from.recv().expect("the worker thread returns its task");
            self.spares.push(std::mem::replace(slot, done));
        }
        if self.clock == Clock::Cpu {
            let slowest = rest.iter().map(|t| t.elapsed).max().unwrap_or(0);
            self.waited += slowest.saturating_sub(first.elapsed);
        }
    }

    fn now(&mut self) -> u64 {
        match self.clock {
            Clock::Wall => self.start.elapsed().as_nanos() as u64,
            Clock::Cpu => thread_cpu_ns() + self.waited,
        }
    }

    fn min_task_tstates(&self) -> u64 {
        self.min_task
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        for w in &mut self.workers {
            // Closing the channel ends the worker's loop.
            let (dead, _) = channel();
            drop(std::mem::replace(&mut w.to, dead));
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
    }
}
