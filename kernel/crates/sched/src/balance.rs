//! Periodic load balancing: the pure computation behind `check_balance`.
//!
//! What: given, per run queue, the longest queue seen per priority, the reductions
//! executed per priority and whether its core ran out of work, decide (a) how many
//! run queues should stay active (compaction, so idle cores can sleep) and (b) per
//! queue and priority a migration path: emigrate to queue X, or immigrate from queue
//! Y, with the length limits that switch the path on. [`Balancer`] holds the state
//! that survives between periods (the full-reductions history and the last "rise").
//! It takes synthetic samples, so every decision is unit-testable; the scheduler
//! samples its queues into [`Balancer::samples_mut`], calls
//! [`Balancer::full_pass_on_samples`] and publishes the [`Plan`].
//!
//! Memory: a pass allocates nothing, so it cannot fail at a full heap. The balancer
//! is made with everything a pass works in, one entry per queue (the samples,
//! availabilities, limits, pairings, the sort buffer and the plan itself), and every
//! pass overwrites it; [`Balancer::full_pass`] lends the plan out until the next pass.
//!
//! BEAM (`erl_process.c` `check_balance`), followed step by step:
//! * passes alternate half-time / full, every `1000·CONTEXT_REDS` reductions of the
//!   first queue to get there; a half-time pass only records which queues are out of
//!   work (the scheduler does that part);
//! * a queue that ran out of work counts as having executed a full period
//!   (`2 · 1000·CR`); each queue's `full_reds` is the average of the last 7 periods and
//!   this one (`(history_sum + reds) >> 3`);
//! * per priority, `avail` is the percentage of the queue's reductions not taken by
//!   max/high, scaled by the queue's `full_reds` relative to the other busy queues;
//!   limits are the average `max_len` distributed in proportion to `avail`; queues
//!   above their limit emigrate to queues below theirs, paired most-over with
//!   most-under, the leftover side getting one-sided paths; a source with `avail` 0 is
//!   evacuated;
//! * compaction (`+scl true`): if some queue's core waited during the second half of
//!   the period, `active = ⌈total reds / full period⌉` (or last − 1 if nobody was busy
//!   all period), never below the queues that were busy all second half, held at the
//!   previous peak while length and reductions stay ≥ 90 % of it.
//!
//! Departures and why:
//! * **Capacity.** The `full_reds` history of each queue is seeded with
//!   `period × capacity / 1024` instead of zero, so before anything is measured the
//!   limits of a P/E machine are already proportional to core capacity; measured
//!   reductions (which on real hardware are proportional to speed) replace the seed
//!   over 7 periods. This is how `normal` work is balanced by capacity.
//! * **Class weights.** `avail` is multiplied by the topology's class weight
//!   ([`crate::Topology::class_weight`]): 0 for max/high on E cores and for low on P
//!   cores on a machine with both classes. A queue with weight 0 at a priority takes
//!   no part in balancing that priority (no path, its lengths not counted): work of
//!   that priority is there only because it spilled over, and placement (see
//!   `scheduler`) brings it back when a core of its preferred class frees up. If such
//!   queues took part, their momentary queue (every requeue counts as a length of 1)
//!   would pair them with the preferred-class queues as evacuation sources, and since
//!   a queue gets one path per priority, the preferred-class queues would never be
//!   balanced against each other.
//! * **Compaction order.** Queues stay active in [`crate::Topology::compaction_order`]
//!   (P cores first) instead of index order; an inactive queue emigrates to
//!   `order[pos mod active]`.
//! * **Compaction still balances.** BEAM's `check_balance` returns right after
//!   deciding to compact. Here the same pass goes on to compute limits and paths among
//!   the queues that stay active (the inactive ones' lengths count as work to place,
//!   their room as none). Otherwise, on a P/E machine where E cores idle, compaction
//!   fires every period and the P cores are never balanced against each other.
//! * **Immigrate evacuation** is keyed on the *source* having `avail` 0 (BEAM tests
//!   the source's flags too, but also sets the flag on the target in the one-sided
//!   case); ties in the sort are broken by queue index so the result is deterministic.
//! * The `full_reds` scaling of `avail` is rounded to nearest instead of truncated:
//!   with truncation, queues whose reductions differ by a single slice in 8 M get
//!   availabilities of 100 and 99, which (through the rounded-up average) hides an
//!   imbalance like 5-5-3-3 for a whole period.
//! * Port queues do not exist here.

use crate::ids::{CoreId, Priority};
use crate::reductions::CONTEXT_REDS;
use crate::topology::{Topology, CAPACITY_SCALE};
use alloc::boxed::Box;
use alloc::vec;

/// Reductions between balance passes on the first queue to get there (`1000·CR`).
pub const CHECK_BALANCE_REDS: u64 = 1000 * CONTEXT_REDS as u64;
/// Number of past periods kept per queue.
pub const FULL_REDS_HISTORY_SIZE: usize = 7;
/// `(sum of 7 + current) >> 3` is the average.
pub const FULL_REDS_HISTORY_AVG_SHIFT: u32 = 3;
/// A length or reductions level counts as "still at the peak" at this percentage.
const RISE_KEEP_PERCENT: i64 = 90;

/// Which way a migration path points.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum PathKind {
    /// No migration at this priority.
    #[default]
    None,
    /// Work enqueued here goes to `other` while here is over its limit and `other`
    /// under its own.
    Emigrate,
    /// This queue pulls one process from `other` per scheduling pass while here is
    /// under its limit and `other` over its own.
    Immigrate,
}

/// One queue's migration path at one priority.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MigrationPath {
    /// Direction.
    pub kind: PathKind,
    /// The other queue (core index).
    pub other: u8,
    /// This queue's length limit at this priority.
    pub limit_here: u32,
    /// The other queue's length limit.
    pub limit_other: u32,
    /// Move regardless of lengths (the source has no availability for this priority,
    /// or is inactive).
    pub evacuate: bool,
}

const LIMIT_MAX: u32 = (1 << 24) - 1;

impl MigrationPath {
    /// Packs into one word so a reader loads a consistent path with one atomic load:
    /// bits 0-1 kind, 2 evacuate, 8-15 other, 16-39 limit here, 40-63 limit other.
    pub const fn pack(self) -> u64 {
        let kind = match self.kind {
            PathKind::None => 0u64,
            PathKind::Emigrate => 1,
            PathKind::Immigrate => 2,
        };
        let here = if self.limit_here > LIMIT_MAX { LIMIT_MAX } else { self.limit_here } as u64;
        let other = if self.limit_other > LIMIT_MAX { LIMIT_MAX } else { self.limit_other } as u64;
        kind | ((self.evacuate as u64) << 2) | ((self.other as u64) << 8) | (here << 16) | (other << 40)
    }

    /// Inverse of [`MigrationPath::pack`].
    pub const fn unpack(w: u64) -> Self {
        let kind = match w & 3 {
            1 => PathKind::Emigrate,
            2 => PathKind::Immigrate,
            _ => PathKind::None,
        };
        MigrationPath {
            kind,
            evacuate: w & 4 != 0,
            other: (w >> 8) as u8,
            limit_here: ((w >> 16) & LIMIT_MAX as u64) as u32,
            limit_other: ((w >> 40) & LIMIT_MAX as u64) as u32,
        }
    }

    /// The other queue.
    pub const fn other_core(self) -> CoreId {
        CoreId::new(self.other as usize)
    }
}

/// What the scheduler measured on one queue during the period.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct QueueSample {
    /// Longest queue length seen per priority since the last full pass.
    pub max_len: [u32; 4],
    /// Longest total length seen.
    pub max_total_len: u32,
    /// Reductions executed per priority.
    pub reds: [u64; 4],
    /// The core waited for work at some point in the period.
    pub out_of_work: bool,
    /// The core waited for work during the second half of the period.
    pub halftime_out_of_work: bool,
}

/// The result of a full pass, per queue.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct QueuePlan {
    /// The queue is inactive (compaction): its core only runs processes bound to it and
    /// sleeps otherwise; everything else emigrates.
    pub inactive: bool,
    /// Migration path per priority (index = [`Priority::index`]).
    pub paths: [MigrationPath; 4],
    /// The `full_reds` average used for this queue.
    pub full_reds: u64,
}

/// The result of a full pass. The balancer keeps one and rewrites it on every pass
/// ([`Balancer::full_pass`] lends it out), so a pass allocates nothing.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Plan {
    /// Number of active queues.
    pub active: usize,
    /// Whether the compaction branch decided (some queues inactive).
    pub compacted: bool,
    /// Per queue, by core index.
    pub queues: Box<[QueuePlan]>,
}

#[derive(Clone, Copy, Default, Debug)]
struct Rise {
    active: usize,
    max_len: i64,
    reds: i64,
}

/// One queue's reductions of the last [`FULL_REDS_HISTORY_SIZE`] periods.
#[derive(Clone, Copy, Debug)]
struct History {
    reds: [u64; FULL_REDS_HISTORY_SIZE],
    sum: u64,
}

impl History {
    /// Every period seeded with `reds`.
    fn seeded(reds: u64) -> Self {
        History { reds: [reds; FULL_REDS_HISTORY_SIZE], sum: reds * FULL_REDS_HISTORY_SIZE as u64 }
    }

    /// The average of the history and `reds` (this period's), which then replaces
    /// period `hix` of the history.
    fn update(&mut self, hix: usize, reds: u64) -> u64 {
        let full = (self.sum + reds) >> FULL_REDS_HISTORY_AVG_SHIFT;
        self.sum = self.sum - self.reds[hix] + reds;
        self.reds[hix] = reds;
        full
    }
}

/// The working memory of a full pass, one entry per queue, made with the balancer
/// and overwritten by every pass.
#[derive(Clone, Debug)]
struct Work {
    /// The samples the pass reads.
    samples: Box<[QueueSample]>,
    /// Availability per priority (percent, then scaled).
    avail: Box<[[i64; 4]]>,
    /// This pass's `full_reds` average.
    full_reds: Box<[i64]>,
    /// Length limit per priority.
    limit: Box<[[i64; 4]]>,
    /// Emigration target per priority.
    emigrate: Box<[[Option<usize>; 4]]>,
    /// Immigration source per priority.
    immigrate: Box<[[Option<usize>; 4]]>,
    /// (length − limit, queue) of the queues taking part at one priority.
    cmp: Box<[(i64, usize)]>,
}

/// A boxed slice of `n` copies of `v`.
fn boxed<T: Clone>(n: usize, v: T) -> Box<[T]> {
    vec![v; n].into_boxed_slice()
}

/// Balancing state kept between periods, and the memory every pass works in (all of
/// it sized by the core count when the balancer is made; a pass allocates nothing).
#[derive(Clone, Debug)]
pub struct Balancer {
    period_reds: u64,
    hist: Box<[History]>,
    hist_ix: usize,
    last_active: usize,
    prev_rise: Rise,
    weights: Box<[[u32; 4]]>,
    order: Box<[usize]>,
    halftime_next: bool,
    work: Work,
    plan: Plan,
}

fn percent(x: i64, y: i64) -> i64 {
    if y == 0 {
        if x == 0 {
            100
        } else {
            i64::MAX
        }
    } else {
        100 * x / y
    }
}

impl Balancer {
    /// State for `topo` where a full period is `period_reds` reductions (BEAM:
    /// `2 · CHECK_BALANCE_REDS`).
    pub fn new(topo: &Topology, period_reds: u64) -> Self {
        let n = topo.len();
        let cores = || (0..n).map(CoreId::new);
        let seed = |core| period_reds * topo.core(core).capacity as u64 / CAPACITY_SCALE as u64;
        Balancer {
            period_reds,
            hist: cores().map(|c| History::seeded(seed(c))).collect(),
            hist_ix: 0,
            last_active: n,
            prev_rise: Rise::default(),
            weights: cores().map(|c| Priority::ALL.map(|p| topo.class_weight(c, p))).collect(),
            order: topo.compaction_order().iter().map(|c| c.index()).collect(),
            halftime_next: true,
            work: Work {
                samples: boxed(n, QueueSample::default()),
                avail: boxed(n, [0; 4]),
                full_reds: boxed(n, 0),
                limit: boxed(n, [0; 4]),
                emigrate: boxed(n, [None; 4]),
                immigrate: boxed(n, [None; 4]),
                cmp: boxed(n, (0, 0)),
            },
            plan: Plan { active: n, compacted: false, queues: boxed(n, QueuePlan::default()) },
        }
    }

    /// Whether the next regular pass is a half-time pass.
    pub fn next_is_halftime(&self) -> bool {
        self.halftime_next
    }

    /// Records that a half-time pass was done; the next one is full.
    pub fn halftime_done(&mut self) {
        self.halftime_next = false;
    }

    /// Number of queues the last full pass left active.
    pub fn last_active(&self) -> usize {
        self.last_active
    }

    /// Notes that the scheduler re-activated a queue between passes.
    pub fn set_last_active(&mut self, active: usize) {
        self.last_active = active;
    }

    /// A full pass over `samples` (one per queue, by core index). `current_active` is
    /// the number of queues active right now; `compact` enables compaction; `forced`
    /// skips it (as BEAM's forced check does). Copies `samples` into the balancer's
    /// sample buffer and runs [`Balancer::full_pass_on_samples`].
    pub fn full_pass(&mut self, samples: &[QueueSample], current_active: usize, compact: bool, forced: bool) -> &Plan {
        assert_eq!(samples.len(), self.work.samples.len(), "one sample per run queue");
        self.work.samples.copy_from_slice(samples);
        self.full_pass_on_samples(current_active, compact, forced)
    }

    /// The sample buffer (one per queue, by core index) that
    /// [`Balancer::full_pass_on_samples`] reads: the scheduler fills it in place.
    pub fn samples_mut(&mut self) -> &mut [QueueSample] {
        &mut self.work.samples
    }

    /// A full pass over the samples in the buffer ([`Balancer::samples_mut`]); the
    /// arguments are those of [`Balancer::full_pass`]. The plan is rewritten in place
    /// and stays valid until the next pass.
    pub fn full_pass_on_samples(&mut self, current_active: usize, compact: bool, forced: bool) -> &Plan {
        let Balancer { period_reds, hist, hist_ix, last_active, prev_rise, weights, order, halftime_next, work, plan } =
            self;
        let Work { samples, avail, full_reds, limit, emigrate, immigrate, cmp } = work;
        let n = samples.len();
        let period = *period_reds as i64;
        let hix = *hist_ix;
        *hist_ix = (hix + 1) % FULL_REDS_HISTORY_SIZE;
        *halftime_next = true;

        let (mut full_scheds, mut half_full, mut full_scheds_reds, mut scheds_reds, mut mmax_len) =
            (0i64, 0usize, 0i64, 0i64, 0i64);
        for (q, s) in samples.iter().enumerate() {
            let treds: i64 = s.reds.iter().map(|&r| r as i64).sum();
            avail[q] = [0; 4];
            if s.out_of_work {
                avail[q] = [100; 4];
                if !s.halftime_out_of_work {
                    half_full += 1;
                }
                full_reds[q] = hist[q].update(hix, *period_reds) as i64;
            } else {
                if treds != 0 {
                    let mut xreds = 0i64;
                    for (p, (av, &reds)) in avail[q].iter_mut().zip(&s.reds).enumerate() {
                        *av = if xreds == 0 {
                            100
                        } else if treds == xreds {
                            0
                        } else {
                            (100 * (treds - xreds) / treds).max(1)
                        };
                        if p < Priority::Normal.index() {
                            xreds += reds as i64;
                        }
                    }
                }
                full_reds[q] = hist[q].update(hix, treds as u64) as i64;
                full_scheds_reds += full_reds[q];
                full_scheds += 1;
                half_full += 1;
            }
            scheds_reds += treds;
            mmax_len = mmax_len.max(s.max_total_len as i64);
        }

        plan.active = n;
        plan.compacted = false;
        for (qp, f) in plan.queues.iter_mut().zip(full_reds.iter()) {
            *qp = QueuePlan { full_reds: *f as u64, ..QueuePlan::default() };
        }

        if compact && !forced && half_full != n {
            let min = half_full.max(1);
            let mut active = if full_scheds > 0 {
                ((scheds_reds.max(1) - 1) / period + 1) as usize
            } else {
                last_active.saturating_sub(1)
            };
            if *last_active < current_active {
                *prev_rise = Rise { active: current_active, max_len: mmax_len, reds: scheds_reds };
                active = current_active;
            } else if active < prev_rise.active
                && percent(mmax_len, prev_rise.max_len) >= RISE_KEEP_PERCENT
                && percent(scheds_reds, prev_rise.reds) >= RISE_KEEP_PERCENT
            {
                active = prev_rise.active;
            }
            let active = active.clamp(min, n);
            if active < n {
                for (pos, &q) in order.iter().enumerate().skip(active) {
                    let to = order[pos % active] as u8;
                    plan.queues[q].inactive = true;
                    plan.queues[q].paths = [MigrationPath {
                        kind: PathKind::Emigrate,
                        other: to,
                        limit_here: 0,
                        limit_other: 0,
                        evacuate: true,
                    }; 4];
                }
                plan.active = active;
                plan.compacted = true;
                *last_active = active;
            }
        } else if compact && *last_active < current_active {
            *prev_rise = Rise { active: current_active, max_len: mmax_len, reds: scheds_reds };
        }

        // Per-priority limits and migration paths among the active queues (all of them
        // unless compaction made some inactive; their work is counted, not their room).
        let mut avg_len = [0i64; 4];
        let mut avg_avail = [0i64; 4];
        for q in 0..n {
            for p in 0..4 {
                if full_scheds_reds > 0 && !samples[q].out_of_work {
                    // Rounded to nearest (BEAM truncates; see the module doc).
                    avail[q][p] = (avail[q][p] * full_reds[q] * full_scheds + full_scheds_reds / 2) / full_scheds_reds;
                }
                avail[q][p] = if plan.queues[q].inactive { 0 } else { avail[q][p] * weights[q][p] as i64 / 100 };
                if weights[q][p] != 0 {
                    avg_len[p] += samples[q].max_len[p] as i64;
                }
                avg_avail[p] += avail[q][p];
            }
        }
        for p in 0..4 {
            if avg_len[p] != 0 && avg_avail[p] != 0 {
                avg_len[p] = (100 * avg_len[p] - 1) / avg_avail[p] + 1;
            }
        }
        for q in 0..n {
            for p in 0..4 {
                limit[q][p] =
                    if avg_len[p] != 0 && avail[q][p] != 0 { (avg_len[p] * avail[q][p] - 1) / 100 + 1 } else { 0 };
            }
        }
        emigrate.fill([None; 4]);
        immigrate.fill([None; 4]);
        for p in 0..4 {
            let mut len = 0;
            for (q, s) in samples.iter().enumerate() {
                if !plan.queues[q].inactive && weights[q][p] != 0 {
                    cmp[len] = (s.max_len[p] as i64 - limit[q][p], q);
                    len += 1;
                }
            }
            let cmp = &mut cmp[..len];
            let lows = cmp.iter().filter(|c| c.0 < 0).count();
            let highs = cmp.iter().filter(|c| c.0 > 0).count();
            if lows == 0 || highs == 0 {
                continue;
            }
            cmp.sort_unstable();
            pair_paths(cmp, p, emigrate, immigrate);
        }
        for q in 0..n {
            if plan.queues[q].inactive {
                continue;
            }
            for p in 0..4 {
                let path = if let Some(to) = emigrate[q][p] {
                    MigrationPath {
                        kind: PathKind::Emigrate,
                        other: to as u8,
                        limit_here: limit[q][p] as u32,
                        limit_other: limit[to][p] as u32,
                        evacuate: avail[q][p] == 0,
                    }
                } else if let Some(from) = immigrate[q][p] {
                    MigrationPath {
                        kind: PathKind::Immigrate,
                        other: from as u8,
                        limit_here: limit[q][p] as u32,
                        limit_other: limit[from][p] as u32,
                        evacuate: avail[from][p] == 0,
                    }
                } else {
                    MigrationPath::default()
                };
                plan.queues[q].paths[p] = path;
            }
        }
        if !plan.compacted {
            *last_active = n;
        }
        plan
    }
}

/// Pairs sources (positive length over limit, at the end of the sorted `cmp`) with
/// targets (negative, at the start), as `check_balance` does: most over with most
/// under, then the side with entries left gets one-sided paths cycling over the other.
fn pair_paths(
    cmp: &[(i64, usize)],
    p: usize,
    emigrate: &mut [[Option<usize>; 4]],
    immigrate: &mut [[Option<usize>; 4]],
) {
    let n = cmp.len() as isize;
    let (mut tix, mut fix) = (0isize, n - 1);
    let (mut eof, mut eot) = (false, false);
    loop {
        if cmp[fix as usize].0 <= 0 {
            eof = true;
        }
        if cmp[tix as usize].0 >= 0 {
            eot = true;
        }
        if eof || eot {
            break;
        }
        let (from, to) = (cmp[fix as usize].1, cmp[tix as usize].1);
        emigrate[from][p] = Some(to);
        immigrate[to][p] = Some(from);
        tix += 1;
        fix -= 1;
    }
    if !eot && eof {
        // More targets than sources: the remaining targets immigrate from the sources.
        if fix < n - 1 {
            fix += 1;
        }
        if cmp[fix as usize].0 > 0 {
            let mut fix2 = -1isize;
            while tix < fix {
                if cmp[tix as usize].0 >= 0 {
                    break;
                }
                if fix2 < fix {
                    fix2 = n - 1;
                }
                immigrate[cmp[tix as usize].1][p] = Some(cmp[fix2 as usize].1);
                tix += 1;
                fix2 -= 1;
            }
        }
    } else if !eof && eot {
        // More sources than targets: the remaining sources emigrate to the targets.
        if tix > 0 {
            tix -= 1;
        }
        if cmp[tix as usize].0 < 0 {
            let mut tix2 = 0isize;
            while tix < fix {
                if cmp[fix as usize].0 <= 0 {
                    break;
                }
                if tix2 > tix {
                    tix2 = 0;
                }
                emigrate[cmp[fix as usize].1][p] = Some(cmp[tix2 as usize].1);
                fix -= 1;
                tix2 += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::CoreInfo;

    const PERIOD: u64 = 2 * CHECK_BALANCE_REDS;
    const N: usize = Priority::Normal.index();

    fn busy(len_normal: u32, reds_normal: u64) -> QueueSample {
        QueueSample {
            max_len: [0, 0, len_normal, 0],
            max_total_len: len_normal,
            reds: [0, 0, reds_normal, 0],
            out_of_work: false,
            halftime_out_of_work: false,
        }
    }

    fn idle() -> QueueSample {
        QueueSample { out_of_work: true, halftime_out_of_work: true, ..QueueSample::default() }
    }

    #[test]
    fn path_packing_round_trips() {
        let p = MigrationPath {
            kind: PathKind::Immigrate,
            other: 63,
            limit_here: 12345,
            limit_other: LIMIT_MAX,
            evacuate: true,
        };
        assert_eq!(MigrationPath::unpack(p.pack()), p);
        assert_eq!(MigrationPath::unpack(0), MigrationPath::default());
    }

    #[test]
    fn skewed_queue_emigrates_and_others_immigrate() {
        let topo = Topology::uniform(4);
        let mut b = Balancer::new(&topo, PERIOD);
        let s = [busy(16, PERIOD), busy(1, PERIOD), busy(1, PERIOD), busy(1, PERIOD)];
        let plan = b.full_pass(&s, 4, true, false);
        assert!(!plan.compacted);
        assert_eq!(plan.active, 4);
        // avg = ceil(19 / 4) = 5 for everybody.
        let p0 = plan.queues[0].paths[N];
        assert_eq!((p0.kind, p0.other, p0.limit_here, p0.limit_other), (PathKind::Emigrate, 1, 5, 5));
        for q in 1..4 {
            let pq = plan.queues[q].paths[N];
            assert_eq!((pq.kind, pq.other), (PathKind::Immigrate, 0), "queue {q}");
            assert_eq!(pq.limit_here, 5);
        }
        // No max/high/low paths.
        assert!(plan.queues.iter().all(|q| q.paths[0].kind == PathKind::None && q.paths[3].kind == PathKind::None));
    }

    #[test]
    fn balanced_load_has_no_paths() {
        let mut b = Balancer::new(&Topology::uniform(3), PERIOD);
        let plan = b.full_pass(&[busy(4, PERIOD), busy(4, PERIOD), busy(4, PERIOD)], 3, true, false);
        assert!(plan.queues.iter().all(|q| q.paths.iter().all(|p| p.kind == PathKind::None)));
    }

    #[test]
    fn high_priority_work_reduces_normal_availability() {
        // Queue 0 spends 3/4 of its reductions on high work, so it should carry fewer
        // normal processes than queue 1.
        let mut b = Balancer::new(&Topology::uniform(2), PERIOD);
        let mut s0 = busy(6, PERIOD / 4);
        s0.reds[1] = 3 * PERIOD / 4;
        s0.max_len[1] = 1;
        let s1 = busy(2, PERIOD);
        let plan = b.full_pass(&[s0, s1], 2, true, false);
        let (p0, p1) = (plan.queues[0].paths[N], plan.queues[1].paths[N]);
        assert_eq!((p0.kind, p0.other), (PathKind::Emigrate, 1));
        assert_eq!((p1.kind, p1.other), (PathKind::Immigrate, 0));
        // avail: q0 25, q1 100 -> total 8 normal processes split 8*25/125 and 8*100/125.
        assert_eq!((p0.limit_here, p0.limit_other), (2, 7));
    }

    #[test]
    fn light_load_compacts_one_queue_per_period() {
        let mut b = Balancer::new(&Topology::uniform(4), PERIOD);
        let s = [idle(); 4];
        let mut active = 4;
        let mut seen = std::vec::Vec::new();
        for _ in 0..5 {
            let plan = b.full_pass(&s, active, true, false);
            active = plan.active;
            seen.push(active);
            // Inactive queues emigrate everything to an active one, unconditionally.
            for (q, qp) in plan.queues.iter().enumerate() {
                assert_eq!(qp.inactive, q >= active);
                if qp.inactive {
                    assert!(qp
                        .paths
                        .iter()
                        .all(|p| p.kind == PathKind::Emigrate && (p.other as usize) < active && p.evacuate));
                }
            }
        }
        assert_eq!(seen, [3, 2, 1, 1, 1]);
    }

    #[test]
    fn compaction_uses_total_reductions_and_busy_floor() {
        let mut b = Balancer::new(&Topology::uniform(4), PERIOD);
        // Two queues were busy all period, two waited: 2.5 periods of work -> 3 active.
        let mut s = [busy(2, PERIOD), busy(2, PERIOD), idle(), idle()];
        s[2].reds[N] = PERIOD / 2;
        let plan = b.full_pass(&s, 4, true, false);
        assert!(plan.compacted);
        assert_eq!(plan.active, 3);
        assert!(plan.queues[3].inactive && !plan.queues[2].inactive);
        // Without compaction everything stays active.
        let mut b2 = Balancer::new(&Topology::uniform(4), PERIOD);
        assert_eq!(b2.full_pass(&s, 4, false, false).active, 4);
    }

    #[test]
    fn compaction_still_balances_the_active_queues() {
        // Two busy queues, one holding all the queued work, and two idle ones: the pass
        // compacts to two queues and, in the same pass, balances those two.
        let mut b = Balancer::new(&Topology::uniform(4), PERIOD);
        let s = [busy(8, PERIOD), busy(1, PERIOD), idle(), idle()];
        let plan = b.full_pass(&s, 4, true, false);
        assert!(plan.compacted);
        assert_eq!(plan.active, 2);
        let (p0, p1) = (plan.queues[0].paths[N], plan.queues[1].paths[N]);
        assert_eq!((p0.kind, p0.other), (PathKind::Emigrate, 1));
        assert_eq!((p1.kind, p1.other), (PathKind::Immigrate, 0));
        assert!(plan.queues[2].inactive && plan.queues[3].inactive);
    }

    #[test]
    fn rise_is_held_while_load_stays_at_peak() {
        let mut b = Balancer::new(&Topology::uniform(4), PERIOD);
        let s = [idle(); 4];
        let p1 = b.full_pass(&s, 4, true, false);
        assert_eq!(p1.active, 3);
        // The scheduler woke a fourth queue (load rose): the rise is recorded and kept.
        let mut s2 = [busy(8, PERIOD), busy(8, PERIOD), busy(8, PERIOD), idle()];
        s2[3].halftime_out_of_work = true;
        let p2 = b.full_pass(&s2, 4, true, false);
        assert_eq!(p2.active, 4);
        // Same load again: ⌈3 periods⌉ = 3, but the peak (4) is held at >= 90 %.
        let p3 = b.full_pass(&s2, 4, true, false);
        assert_eq!(p3.active, 4);
    }

    #[test]
    fn pe_classes_balance_within_the_preferred_class() {
        let topo = Topology::performance_efficiency(2, 2);
        let mut b = Balancer::new(&topo, PERIOD);
        let mk = |high: u32, low: u32| QueueSample {
            max_len: [0, high, 1, low],
            max_total_len: high + 1 + low,
            reds: [0, high as u64 * 4000, 4000, low as u64 * 4000],
            out_of_work: false,
            halftime_out_of_work: false,
        };
        // High work piles up on P core 0 and some spilled to E core 2; low work on E
        // core 3 and some on P core 1.
        let plan = b.full_pass(&[mk(5, 0), mk(1, 2), mk(2, 0), mk(0, 6)], 4, false, false);
        let (h, l) = (Priority::High.index(), Priority::Low.index());
        // High is balanced between the P cores only; the E queues get no high path.
        assert_eq!((plan.queues[0].paths[h].kind, plan.queues[0].paths[h].other), (PathKind::Emigrate, 1));
        assert_eq!((plan.queues[1].paths[h].kind, plan.queues[1].paths[h].other), (PathKind::Immigrate, 0));
        assert!(plan.queues[2..].iter().all(|q| q.paths[h].kind == PathKind::None));
        // Low is balanced between the E cores only.
        assert_eq!((plan.queues[3].paths[l].kind, plan.queues[3].paths[l].other), (PathKind::Emigrate, 2));
        assert!(plan.queues[..2].iter().all(|q| q.paths[l].kind == PathKind::None));
    }

    #[test]
    fn capacity_seeds_normal_limits() {
        // One P (1024) and one E (256), equally long queues and equal reductions so far:
        // the seeded history gives the E queue a limit of 3 against the P queue's 8.
        let topo = Topology::new(&[CoreInfo::performance(0), CoreInfo::efficiency(256, 1)]).unwrap();
        let mut b = Balancer::new(&topo, PERIOD);
        let s = [busy(5, PERIOD / 2), busy(5, PERIOD / 2)];
        let plan = b.full_pass(&s, 2, false, false);
        let e = plan.queues[1].paths[N];
        assert_eq!(e.kind, PathKind::Emigrate);
        assert_eq!((e.limit_here, e.limit_other), (3, 8));
    }
}
