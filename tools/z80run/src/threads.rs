//! The hosted dispatcher pool: tasks run on persistent worker threads (Linux
//! threads), one Z80 instance each, with the calling thread as instance 0.
//!
//! What: [`Threads`] implements `zbeam_dispatch::Pool`. A wave's tasks 1.. are moved
//! (their buffers are boxed, so a move is a few words) to the workers over
//! channels, task 0 runs on the caller, and the finished tasks come back in their
//! slots. Time is wall-clock nanoseconds since the pool was made.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Instant;
use zbeam_dispatch::task::Task;
use zbeam_dispatch::Pool;

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
    /// The smallest task worth sending, in T-states.
    pub min_task: u64,
}

/// Hand-off, 64 KiB copies and validation cost some tens of microseconds a wave; at
/// about 2 T-states a nanosecond a task of 2 million T-states keeps them near 5%.
pub const DEFAULT_MIN_TASK: u64 = 2_000_000;

impl Threads {
    /// A pool of `instances` instances (at least 1).
    pub fn new(instances: usize) -> Threads {
        let workers = (1..instances.max(1))
            .map(|_| {
                let (to, jobs) = channel::<Task>();
                let (done, from) = channel::<Task>();
                let handle = std::thread::spawn(move || {
                    for mut task in jobs {
                        let t0 = Instant::now();
                        task.run();
                        task.elapsed = t0.elapsed().as_nanos() as u64;
                        if done.send(task).is_err() {
                            break;
                        }
                    }
                });
                Worker { to, from, handle: Some(handle) }
            })
            .collect::<Vec<_>>();
        let spares = workers.iter().map(|_| Task::new()).collect();
        Threads { workers, spares, start: Instant::now(), min_task: DEFAULT_MIN_TASK }
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
        let t0 = Instant::now();
        first.run();
        first.elapsed = t0.elapsed().as_nanos() as u64;
        for (slot, w) in rest.iter_mut().zip(&self.workers) {
            let done = w.from.recv().expect("the worker thread returns its task");
            self.spares.push(std::mem::replace(slot, done));
        }
    }

    fn now(&mut self) -> u64 {
        self.start.elapsed().as_nanos() as u64
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
