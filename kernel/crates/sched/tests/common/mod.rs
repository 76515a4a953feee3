//! Shared test support: a seeded RNG and a deterministic multi-core simulation.
//!
//! The simulation drives a real `Scheduler` the way a runtime would, with a
//! simulated clock: in each step every core executes `speed` reductions (4000 for a
//! capacity-1024 core, proportionally fewer for E cores), picking, running and
//! scheduling out processes as their behaviour dictates. Cores are visited in index
//! order, so a run is a pure function of its inputs.
#![allow(dead_code)]

use zbeam_sched::{
    CoreId, CoreInfo, CpuSet, ExitReason, OutAction, OutReason, Pid, Priority, Reductions, Scheduler, SleepDecision,
    Topology, Wakeup, CAPACITY_SCALE, CONTEXT_REDS,
};

/// xorshift64*: small, seeded, good enough for test interleavings.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// `n` cores of random classes (half P, half E of capacity 256–855) in up to 3
/// clusters.
pub fn random_pe_topology(rng: &mut Rng, n: usize) -> Topology {
    let cores: Vec<CoreInfo> = (0..n)
        .map(|_| {
            let cluster = rng.below(3) as u16;
            if rng.chance(50) {
                CoreInfo::performance(cluster)
            } else {
                CoreInfo::efficiency(256 + rng.below(600) as u32, cluster)
            }
        })
        .collect();
    Topology::new(&cores).unwrap()
}

/// How a simulated process behaves.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Runs until it has executed `total` reductions, then exits.
    CpuBound { total: u64 },
    /// Forever: runs `burst` reductions, then waits `sleep` steps for a message.
    Bursty { burst: u32, sleep: u64 },
}

pub struct SimProc {
    pub pid: Pid,
    pub prio: Priority,
    pub behaviour: Behaviour,
    pub done: u64,
    pub burst_left: u32,
    pub wake_at: Option<u64>,
    pub finished_at: Option<u64>,
    /// Reductions executed on each core.
    pub reds_on: Vec<u64>,
}

pub struct Sim {
    pub sched: Scheduler,
    pub procs: Vec<SimProc>,
    current: Vec<Option<(Pid, u32)>>,
    speed: Vec<u32>,
    pub step: u64,
    pub picks_on_inactive: u64,
    /// Model idle cores as the kernel runs them: an idle core sleeps (after
    /// `prepare_sleep`) and runs again only when a wake set names it (an IPI).
    pub sleeping: bool,
    pub asleep: Vec<bool>,
    /// Per core: IPIs received, those whose first pick found nothing, the longest run
    /// of consecutive empty ones, and the current run.
    pub ipis: Vec<u64>,
    pub empty_wakes: Vec<u64>,
    pub max_empty_run: Vec<u64>,
    empty_run: Vec<u64>,
    just_woken: Vec<bool>,
    pending_woke: Vec<bool>,
    /// Per core: reductions executed.
    pub reds: Vec<u64>,
}

impl Sim {
    pub fn new(sched: Scheduler) -> Self {
        let topo = sched.topology();
        let speed =
            (0..topo.len()).map(|i| CONTEXT_REDS * topo.core(CoreId::new(i)).capacity / CAPACITY_SCALE).collect();
        let n = topo.len();
        Sim {
            sched,
            procs: Vec::new(),
            current: vec![None; n],
            speed,
            step: 0,
            picks_on_inactive: 0,
            sleeping: false,
            asleep: vec![false; n],
            ipis: vec![0; n],
            empty_wakes: vec![0; n],
            max_empty_run: vec![0; n],
            empty_run: vec![0; n],
            just_woken: vec![false; n],
            pending_woke: vec![false; n],
            reds: vec![0; n],
        }
    }

    /// Reductions a core executes per step.
    pub fn speed(&self, core: usize) -> u32 {
        self.speed[core]
    }

    /// Delivers the IPIs of a wake set: every named core wakes (counted per core).
    pub fn interrupt(&mut self, cores: CpuSet) {
        for c in cores.iter() {
            self.ipis[c.index()] += 1;
            if self.asleep[c.index()] {
                // The core leaves WFI at its next turn, when it calls `woke`.
                self.asleep[c.index()] = false;
                self.pending_woke[c.index()] = true;
            }
            self.just_woken[c.index()] = true;
        }
    }

    fn empty_pick(&mut self, core: usize, empty: bool) {
        if std::mem::take(&mut self.just_woken[core]) {
            if empty {
                self.empty_wakes[core] += 1;
                self.empty_run[core] += 1;
                self.max_empty_run[core] = self.max_empty_run[core].max(self.empty_run[core]);
            } else {
                self.empty_run[core] = 0;
            }
        }
    }

    pub fn cores(&self) -> usize {
        self.current.len()
    }

    pub fn spawn(&mut self, prio: Priority, aff: CpuSet, from: usize, behaviour: Behaviour) -> Pid {
        let pid = Pid::new(self.procs.len() as u32);
        let placed = self.sched.enqueue(pid, prio, aff, CoreId::new(from)).expect("spawn");
        self.interrupt(placed.wake);
        let burst_left = match behaviour {
            Behaviour::Bursty { burst, .. } => burst,
            Behaviour::CpuBound { .. } => 0,
        };
        let n = self.cores();
        self.procs.push(SimProc {
            pid,
            prio,
            behaviour,
            done: 0,
            burst_left,
            wake_at: None,
            finished_at: None,
            reds_on: vec![0; n],
        });
        pid
    }

    /// Processes runnable on `core`: queued plus the running one.
    pub fn load(&self, core: usize) -> u32 {
        self.sched.run_queue_lengths(CoreId::new(core)).iter().sum::<u32>() + self.current[core].is_some() as u32
    }

    pub fn all_finished(&self) -> bool {
        self.procs.iter().all(|p| p.finished_at.is_some())
    }

    /// One step of simulated time on every core.
    pub fn step(&mut self) {
        for i in 0..self.procs.len() {
            if self.procs[i].wake_at.is_some_and(|t| t <= self.step) {
                self.procs[i].wake_at = None;
                if let Wakeup::Queued { wake, .. } = self.sched.wake(self.procs[i].pid) {
                    self.interrupt(wake);
                }
            }
        }
        for core in 0..self.cores() {
            let c = CoreId::new(core);
            let mut time = self.speed[core];
            if self.sleeping && self.asleep[core] {
                continue;
            }
            if std::mem::take(&mut self.pending_woke[core]) {
                self.sched.woke(c);
            }
            while time > 0 {
                let (pid, mut used) = match self.current[core] {
                    Some(x) => x,
                    None => match self.sched.pick_next(c) {
                        Some(pick) => {
                            self.empty_pick(core, false);
                            self.interrupt(pick.wake);
                            let aff = self.sched.affinity(pick.pid).unwrap();
                            assert!(aff.contains(c), "{:?} picked on {c} outside {aff:?}", pick.pid);
                            if self.sched.is_queue_inactive(c) {
                                self.picks_on_inactive += 1;
                            }
                            (pick.pid, 0)
                        }
                        None => {
                            self.empty_pick(core, true);
                            if self.sleeping && self.sched.prepare_sleep(c) == SleepDecision::Sleep {
                                self.asleep[core] = true;
                            }
                            break;
                        }
                    },
                };
                let p = &mut self.procs[pid.index()];
                let want = match p.behaviour {
                    Behaviour::CpuBound { total } => (total - p.done).min(u32::MAX as u64) as u32,
                    Behaviour::Bursty { .. } => p.burst_left,
                };
                let run = time.min(CONTEXT_REDS - used).min(want);
                time -= run;
                used += run;
                p.done += run as u64;
                p.reds_on[core] += run as u64;
                self.reds[core] += run as u64;
                let reason = match p.behaviour {
                    Behaviour::CpuBound { total } if p.done >= total => Some(OutReason::Exited(ExitReason::Normal)),
                    Behaviour::Bursty { burst, sleep } => {
                        p.burst_left -= run;
                        if p.burst_left == 0 {
                            p.burst_left = burst;
                            p.wake_at = Some(self.step + sleep);
                            Some(OutReason::Waiting { timeout: None })
                        } else if used == CONTEXT_REDS {
                            Some(OutReason::BudgetSpent)
                        } else {
                            None
                        }
                    }
                    _ if used == CONTEXT_REDS => Some(OutReason::BudgetSpent),
                    _ => None,
                };
                match reason {
                    None => self.current[core] = Some((pid, used)),
                    Some(r) => {
                        self.current[core] = None;
                        let out = self.sched.schedule_out(c, pid, Reductions(used as u64), r).expect("schedule_out");
                        self.interrupt(out.wake);
                        if let OutAction::Exited(_) = out.action {
                            self.procs[pid.index()].finished_at = Some(self.step + 1);
                            self.sched.release(pid).expect("release");
                        }
                    }
                }
            }
        }
        self.step += 1;
    }

    /// Every queued process sits on a core its affinity allows, in state IN_RUNQ on
    /// that core, exactly once.
    pub fn check_queues(&self) {
        check_queues(&self.sched, self.procs.len());
    }
}

pub fn check_queues(sched: &Scheduler, nprocs: usize) {
    let mut seen = vec![false; nprocs];
    for core in 0..sched.topology().len() {
        let c = CoreId::new(core);
        sched.for_each_queued(c, |pid, _| {
            let aff = sched.affinity(pid).unwrap();
            assert!(aff.contains(c), "{pid:?} queued on {c} outside {aff:?}");
            let st = sched.state(pid).unwrap();
            assert!(st.has(zbeam_sched::state::flags::IN_RUNQ), "{pid:?} queued but {st:?}");
            assert_eq!(st.runq(), c, "{pid:?} queued on {c} but state says {st:?}");
            assert!(!seen[pid.index()], "{pid:?} queued twice");
            seen[pid.index()] = true;
        });
    }
    for (i, was_seen) in seen.iter().enumerate() {
        let st = sched.state(Pid::new(i as u32)).unwrap();
        if st.has(zbeam_sched::state::flags::IN_RUNQ) {
            assert!(was_seen, "{st:?} of <{i}> is IN_RUNQ but in no queue");
        }
    }
}
