//! The hosted dispatcher pool: tasks run on persistent worker threads (Linux
//! threads), one Z80 instance each, with the calling thread as instance 0.
//!
//! What: [`Threads`] implements `zbeam_dispatch::Pool`. A wave's tasks 1.. are moved
//! (their buffers are boxed, so a move is a few words) into a shared queue and the
//! workers are woken; task 0 runs on the caller; then every thread, the caller
//! included, takes the next task in order until none is left, and the finished
//! tasks go back to their places. A wave may have up to [`PER_INSTANCE`] tasks per
//! instance, so iterations of uneven length balance over the threads.
//!
//! Two clocks ([`Clock`]):
//! * `Wall`: wall-clock nanoseconds since the pool was made; a task's `elapsed` is
//!   the wall time it ran. This is what a run really took on the host as it is.
//! * `Cpu`: what the run would take on idle cores, from the time each thread really
//!   ran on a CPU (`CLOCK_THREAD_CPUTIME_ID`), so time spent waiting for a CPU taken
//!   by other programs is left out. The clock is the calling thread's CPU time, but for each wave, instead of the CPU
//!   time of the tasks it ran itself, the wave's length on idle instances: the tasks'
//!   CPU times scheduled in order, each to the first free instance (as the cost
//!   model does). What
//!   it leaves out, stated openly: waking a worker and handing a task over (a few
//!   microseconds on an idle host), and two threads' sharing of caches.
//!   The learner then learns what pays on idle cores, the same on a loaded host.

use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
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

/// What a worker sends back: a finished task with its place in the wave, or (None)
/// that it found the wave's queue empty.
type Back = Option<(usize, Task)>;

/// The length of a wave on `instances` idle instances when each takes the next task
/// (of the given lengths, in order) as soon as it is free: the last one to finish.
fn schedule(lengths: impl Iterator<Item = u64>, instances: usize) -> u64 {
    let mut free = vec![0u64; instances.max(1)];
    for len in lengths {
        let first = (0..free.len()).min_by_key(|&i| (free[i], i)).unwrap_or(0);
        free[first] += len;
    }
    free.into_iter().max().unwrap_or(0)
}

/// A wave's tasks not yet taken, with their places in the wave.
type Queue = Arc<Mutex<VecDeque<(usize, Task)>>>;

struct Worker {
    go: Sender<()>,
    handle: Option<JoinHandle<()>>,
}

/// `instances - 1` worker threads and the caller.
pub struct Threads {
    workers: Vec<Worker>,
    queue: Queue,
    back: Receiver<Back>,
    spares: Vec<Task>,
    start: Instant,
    clock: Clock,
    /// [`Clock::Cpu`]: per wave, its schedule's length on idle instances less the CPU
    /// time of the tasks this thread ran, summed.
    adjust: i64,
    /// The smallest task worth sending, in T-states.
    pub min_task: u64,
}

/// Preparing the tasks (their memory refreshed page by page), hand-off, validation
/// and commit cost about 10 to 70 microseconds of the dispatcher's time a wave
/// (`z80run` prints the measured split); at about 2.5 T-states a nanosecond, tasks of
/// 500,000 T-states (about 200 microseconds) keep that near 5% to 10% for most loops.
pub const DEFAULT_MIN_TASK: u64 = 500_000;

/// Tasks a wave may have per instance: a free instance takes the next one, so uneven
/// iterations (mandel's pixels) balance.
pub const PER_INSTANCE: usize = 4;

/// How long a thread waiting for the other side (a worker for the next wave, the
/// caller for a worker's tasks) polls before it sleeps. Waves follow each other
/// within tens of microseconds in a loop's visit, and waking a sleeping thread
/// took tens to hundreds of microseconds on this virtual machine, as long as a
/// short wave's tasks; polling is bounded so an idle pool sleeps.
const SPIN: Duration = Duration::from_micros(250);

/// The next message on `rx`, polled for up to `spin`, then waited for up to
/// `timeout` (`None`: for ever).
fn recv_spinning<T>(rx: &Receiver<T>, spin: Duration, timeout: Option<Duration>) -> Result<T, RecvTimeoutError> {
    let t0 = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(v) => return Ok(v),
            Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) if t0.elapsed() < spin => std::hint::spin_loop(),
            Err(TryRecvError::Empty) => {
                return match timeout {
                    Some(t) => rx.recv_timeout(t),
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                }
            }
        }
    }
}

/// Takes the next task of the wave, if any is left.
fn next(queue: &Queue) -> Option<(usize, Task)> {
    queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
}

impl Threads {
    /// A pool of `instances` instances (at least 1) timed by the wall clock.
    pub fn new(instances: usize) -> Threads {
        Threads::with_clock(instances, Clock::Wall)
    }

    /// A pool of `instances` instances (at least 1) timed by `clock`.
    pub fn with_clock(instances: usize, clock: Clock) -> Threads {
        let queue: Queue = Arc::new(Mutex::new(VecDeque::new()));
        let (done, back) = channel::<Back>();
        let workers = (1..instances.max(1))
            .map(|_| {
                let (go, waves) = channel::<()>();
                let (queue, done) = (queue.clone(), done.clone());
                let handle = std::thread::spawn(move || {
                    // One message a wave: take tasks until the queue is empty.
                    while let Ok(()) = recv_spinning(&waves, SPIN, None) {
                        while let Some((place, mut task)) = next(&queue) {
                            timed(&mut task, clock);
                            if done.send(Some((place, task))).is_err() {
                                return;
                            }
                        }
                        if done.send(None).is_err() {
                            return;
                        }
                    }
                });
                Worker { go, handle: Some(handle) }
            })
            .collect::<Vec<_>>();
        Threads {
            workers,
            queue,
            back,
            spares: Vec::new(),
            start: Instant::now(),
            clock,
            adjust: 0,
            min_task: DEFAULT_MIN_TASK,
        }
    }
}

impl Pool for Threads {
    fn instances(&self) -> usize {
        self.workers.len() + 1
    }

    fn per_instance(&self) -> usize {
        PER_INSTANCE
    }

    fn run_all(&mut self, tasks: &mut [Task]) {
        let Some((first, rest)) = tasks.split_first_mut() else { return };
        if rest.is_empty() || self.workers.is_empty() {
            // No worker: every task runs here, in order.
            for t in tasks.iter_mut() {
                timed(t, self.clock);
            }
            return;
        }
        {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            for (place, slot) in rest.iter_mut().enumerate() {
                let spare = self.spares.pop().unwrap_or_default();
                q.push_back((place + 1, std::mem::replace(slot, spare)));
            }
        }
        let woken = self.workers.len().min(rest.len());
        for w in &self.workers[..woken] {
            w.go.send(()).expect("the worker thread is alive");
        }
        timed(first, self.clock);
        let mut mine = first.elapsed;
        // This thread takes tasks too until none is left; each goes back to its place.
        let mut out = Vec::new();
        while let Some((place, mut task)) = next(&self.queue) {
            timed(&mut task, self.clock);
            mine += task.elapsed;
            out.push((place, task));
        }
        let mut idle = 0;
        while idle < woken {
            // A worker that died (a panic in a task) would never report: check for
            // that while waiting, rather than wait for ever.
            // Polling first would count as this thread's CPU time on the idle-host clock.
            let spin = if self.clock == Clock::Wall { SPIN } else { Duration::ZERO };
            match recv_spinning(&self.back, spin, Some(Duration::from_millis(200))) {
                Ok(Some(done)) => out.push(done),
                Ok(None) => idle += 1,
                Err(_) => assert!(
                    !self.workers.iter().any(|w| w.handle.as_ref().is_none_or(|h| h.is_finished())),
                    "a dispatcher worker thread died"
                ),
            }
        }
        for (place, task) in out {
            self.spares.push(std::mem::replace(&mut tasks[place], task));
        }
        if self.clock == Clock::Cpu {
            // Which thread ran which task depends on the host's load; on idle cores
            // each instance takes the next task when free (task 0 on this one).
            let span = schedule(tasks.iter().map(|t| t.elapsed), self.workers.len() + 1);
            self.adjust += span as i64 - mine as i64;
        }
    }

    fn now(&mut self) -> u64 {
        match self.clock {
            Clock::Wall => self.start.elapsed().as_nanos() as u64,
            Clock::Cpu => thread_cpu_ns().saturating_add_signed(self.adjust),
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
            drop(std::mem::replace(&mut w.go, dead));
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
    }
}
