//! The bounded learner: a per-region multi-armed bandit (the region is the
//! context) over the decompositions the partitioner allows, and its persisted policy.
//!
//! What: an [`Arm`] is one decomposition (sequential, or a predictor, a chunk of
//! iterations per task and a number of tasks per wave). [`Learner::choose`] picks
//! among the allowed arms only: untried arms in order until one wins, then the best
//! mean reward, with an epsilon-greedy exploration (fading with experience) from a
//! seeded xorshift generator. The
//! reward of a wave is its measured gain net of communication and validation,
//! `(estimated sequential time - wave time) / estimated sequential time`, so the
//! sequential arm is worth 0 by definition. An arm's mean weights each wave by the
//! T-states it covered, so a short wave (one that overshot a loop's end on a first
//! visit, or a short visit's) counts for little against long ones, while a region
//! whose waves keep losing still has a losing mean. Validation outcomes are the second
//! channel: an arm whose waves squash everything is banned. A region whose
//! parallel arms all lose after enough trials is retired to sequential.
//!
//! Why a bandit and not full Q-learning: a region's choice does not change the
//! state the next choice sees (validation makes every choice end in the same
//! committed state), so the problem has no delayed reward to propagate.
//!
//! A program none of whose regions gains is learnt as a whole: after a few such
//! runs the dispatcher leaves it to the interpreter without observing
//! ([`Policy::quiet_run`]), revisiting it now and then.
//!
//! The policy persists per program image ([`Policy::to_text`] / [`Policy::from_text`])
//! keyed by an FNV-1a hash of the image, so later runs start from what earlier
//! runs learnt.

use crate::predict::Predictor;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// A decomposition of one region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arm {
    /// Run the region on the reference interpreter.
    Sequential,
    /// Waves of `tasks` tasks of `chunk` iterations each, started from `predictor`'s states.
    Parallel {
        /// The start-state predictor.
        predictor: Predictor,
        /// Iterations per task.
        chunk: u32,
        /// Tasks per wave (instances used).
        tasks: u32,
    },
    /// At a call: the call runs as the wave's first task while a second task runs
    /// on from its return address, from the state the callee is predicted to leave,
    /// for at most `span` times the callee's observed instructions (it stops
    /// earlier at the next execution of the same call).
    Continue {
        /// The continuation's instruction budget, in callee lengths.
        span: u32,
    },
}

impl core::fmt::Display for Arm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Arm::Sequential => write!(f, "sequential"),
            Arm::Parallel { predictor, chunk, tasks } => write!(f, "{}x{} {}", tasks, chunk, predictor.name()),
            Arm::Continue { span } => write!(f, "continue past the call (span {span})"),
        }
    }
}

/// What the learner knows about one arm.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ArmStats {
    /// Waves run with it.
    pub waves: u64,
    /// Mean reward of its waves, each weighted by the T-states it covered (see
    /// [`Learner::feedback`]).
    pub mean: f64,
    /// T-states its waves covered (committed and redone work), the mean's total weight.
    pub weight: u64,
    /// Speculative tasks committed.
    pub commits: u64,
    /// Speculative tasks squashed.
    pub squashes: u64,
}

/// What the learner knows about one region.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegionPolicy {
    /// Per arm.
    pub arms: BTreeMap<Arm, ArmStats>,
    /// Retired to sequential: every parallel arm lost.
    pub retired: bool,
    /// Why it was retired or found sequential, if it was.
    pub why: Option<String>,
}

impl RegionPolicy {
    /// The parallel arm with the most waves, and its wave count.
    pub fn main_arm(&self) -> Option<(Arm, u64)> {
        self.arms
            .iter()
            .filter(|(a, _)| **a != Arm::Sequential)
            .max_by_key(|(_, s)| s.waves)
            .map(|(a, s)| (*a, s.waves))
    }
}

/// The learnt policy of one program image.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    /// FNV-1a 64 of the image this policy belongs to.
    pub image: u64,
    /// Per region head.
    pub regions: BTreeMap<u16, RegionPolicy>,
    /// Per call site (the address of the CALL instruction), for [`Arm::Continue`].
    pub calls: BTreeMap<u16, RegionPolicy>,
    /// Runs in a row after which no region was left running in parallel with a gain
    /// (see [`Policy::quiet_run`]).
    pub quiet: u32,
}

/// FNV-1a, 64 bits.
pub fn image_hash(image: &[u8]) -> u64 {
    image.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Waves an arm must have had before it can be judged.
pub const JUDGE_AFTER: u64 = 3;
/// Parallel waves a region has had, all losing, before it is retired (at least two per allowed arm).
pub const RETIRE_AFTER: u64 = 12;
/// Runs without a gaining region after which an image is run quiet (see [`Policy::quiet_run`]).
pub const QUIET_AFTER: u32 = 2;
/// Every this many quiet runs, one observes again (a program's path may change with its input).
pub const QUIET_REVISIT: u32 = 8;

impl Policy {
    /// An empty policy for `image`.
    pub fn new(image: &[u8]) -> Policy {
        Policy { image: image_hash(image), regions: BTreeMap::new(), calls: BTreeMap::new(), quiet: 0 }
    }

    /// Whether the next run is left sequential as a whole: after [`QUIET_AFTER`] runs
    /// in a row that ended with no region running in parallel with a gain, the
    /// dispatcher does not observe at all (the program runs on the interpreter, and
    /// stops only at its system calls), except every [`QUIET_REVISIT`]-th run, which
    /// observes again. This is how a sequential program comes to cost what the plain
    /// interpreter costs.
    pub fn quiet_run(&self) -> bool {
        self.quiet >= QUIET_AFTER && !self.quiet.is_multiple_of(QUIET_REVISIT)
    }

    /// Whether some region or call site runs in parallel and gains: not retired,
    /// with a parallel arm whose mean reward is positive.
    pub fn gains(&self) -> bool {
        self.regions
            .values()
            .chain(self.calls.values())
            .any(|r| !r.retired && r.arms.iter().any(|(a, s)| *a != Arm::Sequential && s.waves > 0 && s.mean > 0.0))
    }

    /// Records the end of a run: counts it as quiet unless a region gains.
    pub fn end_run(&mut self) {
        self.quiet = if self.gains() { 0 } else { self.quiet.saturating_add(1) };
    }

    /// The text form (version 2): a header line, then a `region` line per region (a
    /// `call` line per call site) and an `arm` line per arm (predictor or `continue`,
    /// chunk or span, tasks, waves, mean in millionths, commits, squashes, weight in
    /// T-states).
    pub fn to_text(&self) -> String {
        let mut s = format!("zbeam-dispatch policy v2 image {:016x}\n", self.image);
        if self.quiet > 0 {
            s.push_str(&format!("quiet {}\n", self.quiet));
        }
        let regions = self.regions.iter().map(|r| ("region", r));
        for (kind, (head, r)) in regions.chain(self.calls.iter().map(|r| ("call", r))) {
            s.push_str(&format!("{kind} {:04x} {}\n", head, r.retired as u8));
            for (arm, a) in &r.arms {
                let (p, c, t) = match arm {
                    Arm::Sequential => ("seq", 0, 0),
                    Arm::Parallel { predictor, chunk, tasks } => (predictor.name(), *chunk, *tasks),
                    Arm::Continue { span } => ("continue", *span, 2),
                };
                let micro = (a.mean * 1e6) as i64;
                s.push_str(&format!("arm {p} {c} {t} {} {micro} {} {} {}\n", a.waves, a.commits, a.squashes, a.weight));
            }
        }
        s
    }

    /// Parses [`Policy::to_text`]'s form; `None` if it is malformed or for another image.
    ///
    /// A version 1 policy (written before means were weighted, its `arm` lines without
    /// the weight) still loads: each of its waves weighs one T-state, so its means are
    /// kept but the first weighted wave outweighs them.
    pub fn from_text(text: &str, image: &[u8]) -> Option<Policy> {
        let mut lines = text.lines();
        let header = lines.next()?;
        let (v1, hash) = match (
            header.strip_prefix("zbeam-dispatch policy v1 image "),
            header.strip_prefix("zbeam-dispatch policy v2 image "),
        ) {
            (Some(h), _) => (true, h),
            (None, Some(h)) => (false, h),
            (None, None) => return None,
        };
        let hash = u64::from_str_radix(hash, 16).ok()?;
        if hash != image_hash(image) {
            return None;
        }
        let mut policy = Policy { image: hash, regions: BTreeMap::new(), calls: BTreeMap::new(), quiet: 0 };
        // The region or call site the `arm` lines belong to (true: a call site).
        let mut current: Option<(bool, u16)> = None;
        for line in lines {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                [kind @ ("region" | "call"), head, retired @ ("0" | "1")] => {
                    let head = u16::from_str_radix(head, 16).ok()?;
                    let call = *kind == "call";
                    let map = if call { &mut policy.calls } else { &mut policy.regions };
                    let r = map.entry(head).or_default();
                    r.retired = *retired == "1";
                    current = Some((call, head));
                }
                ["arm", p, c, t, waves, micro, commits, squashes, weight @ ..] => {
                    let arm = match *p {
                        "seq" => Arm::Sequential,
                        "continue" => Arm::Continue { span: c.parse().ok()? },
                        name => Arm::Parallel {
                            predictor: match name {
                                "stride" => Predictor::Stride,
                                "unchanged" => Predictor::Unchanged,
                                _ => return None,
                            },
                            chunk: c.parse().ok()?,
                            tasks: t.parse().ok()?,
                        },
                    };
                    let waves = waves.parse().ok()?;
                    let weight = match (v1, weight) {
                        (true, []) => waves,
                        (false, [w]) => w.parse().ok()?,
                        _ => return None,
                    };
                    let stats = ArmStats {
                        waves,
                        mean: micro.parse::<i64>().ok()? as f64 / 1e6,
                        commits: commits.parse().ok()?,
                        squashes: squashes.parse().ok()?,
                        weight,
                    };
                    let (call, head) = current?;
                    // A call site takes continuations only; a loop region never does.
                    if call != matches!(arm, Arm::Continue { .. }) && arm != Arm::Sequential {
                        return None;
                    }
                    let map = if call { &mut policy.calls } else { &mut policy.regions };
                    map.get_mut(&head)?.arms.insert(arm, stats);
                }
                ["quiet", n] => policy.quiet = n.parse().ok()?,
                [] => {}
                _ => return None,
            }
        }
        Some(policy)
    }
}

/// The bandit: a seeded generator and the policy it updates.
pub struct Learner {
    rng: u64,
    /// Exploration probability once every arm was tried, scaled by 20 / (20 + the region's waves).
    pub epsilon: f64,
}

impl Learner {
    /// A learner whose random choices come from `seed`.
    pub fn new(seed: u64) -> Learner {
        Learner { rng: seed ^ 0x9E37_79B9_7F4A_7C15 | 1, epsilon: 0.1 }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// True if `arm` may still be chosen in `region`: not banned by its validation outcomes.
    pub fn usable(region: &RegionPolicy, arm: &Arm) -> bool {
        match region.arms.get(arm) {
            Some(s) if *arm != Arm::Sequential => !(s.waves >= JUDGE_AFTER && s.commits == 0 && s.squashes > 0),
            _ => true,
        }
    }

    /// Picks an arm for `region` from `allowed` (which must hold [`Arm::Sequential`]).
    /// The answer is always an element of `allowed`. When every allowed parallel arm
    /// has been tried and none gains, the best of them is tried again until the region
    /// has had [`RETIRE_AFTER`] parallel waves (or two per allowed arm, if more); then
    /// the region is retired.
    pub fn choose(&mut self, region: &mut RegionPolicy, allowed: &[Arm]) -> Arm {
        if region.retired {
            return Arm::Sequential;
        }
        let parallel: Vec<Arm> =
            allowed.iter().copied().filter(|a| *a != Arm::Sequential && Self::usable(region, a)).collect();
        let tried = |a: &Arm| region.arms.get(a).is_some_and(|s| s.waves > 0);
        let best =
            parallel.iter().copied().filter(tried).max_by(|a, b| region.arms[a].mean.total_cmp(&region.arms[b].mean));
        // Waves' rewards fade in as the region's experience grows.
        let waves: u64 = region.arms.values().map(|s| s.waves).sum();
        let epsilon = self.epsilon * 20.0 / (20.0 + waves as f64);
        let explore = (self.next() % 1_000_000) as f64 / 1e6 < epsilon;
        // Untried arms go first while nothing wins; once something does, only when exploring.
        let winning = best.is_some_and(|b| region.arms[&b].mean > 0.0);
        if !winning || explore {
            if let Some(untried) = parallel.iter().find(|a| !tried(a)) {
                return *untried;
            }
        }
        let Some(best) = best else {
            return self.retire(region, "no parallel decomposition left");
        };
        if region.arms[&best].mean <= 0.0 {
            let waves: u64 = region.arms.iter().filter(|(a, _)| **a != Arm::Sequential).map(|(_, s)| s.waves).sum();
            if waves >= RETIRE_AFTER.max(2 * parallel.len() as u64) {
                return self.retire(region, "every parallel decomposition lost");
            }
            return best;
        }
        if explore {
            return parallel[(self.next() % parallel.len() as u64) as usize];
        }
        best
    }

    fn retire(&mut self, region: &mut RegionPolicy, why: &str) -> Arm {
        region.retired = true;
        region.why = Some(String::from(why));
        Arm::Sequential
    }

    /// Feeds one wave's outcome back: `reward` (net gain), the T-states of work the
    /// wave covered (`tstates`, its weight in the arm's mean; at least 1), speculative
    /// tasks committed and squashed.
    pub fn feedback(region: &mut RegionPolicy, arm: Arm, reward: f64, tstates: u64, commits: u64, squashes: u64) {
        let s = region.arms.entry(arm).or_default();
        let w = tstates.max(1);
        s.waves += 1;
        s.weight = s.weight.saturating_add(w);
        s.mean += (reward - s.mean) * (w as f64 / s.weight as f64);
        s.commits += commits;
        s.squashes += squashes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_round_trips_through_text() {
        let img = b"program";
        let mut p = Policy::new(img);
        let arm = Arm::Parallel { predictor: Predictor::Stride, chunk: 8, tasks: 2 };
        let r = p.regions.entry(0x123).or_default();
        Learner::feedback(r, arm, 0.25, 5000, 1, 0);
        Learner::feedback(r, Arm::Sequential, 0.0, 0, 0, 0);
        p.quiet = 3;
        let call = p.calls.entry(0x456).or_default();
        Learner::feedback(call, Arm::Continue { span: 2 }, -0.5, 9000, 0, 3);
        call.retired = true;
        let text = p.to_text();
        assert_eq!(Policy::from_text(&text, img), Some(p));
        assert_eq!(Policy::from_text(&text, b"other"), None);
        assert_eq!(Policy::from_text("garbage", img), None);
        assert_eq!(Policy::from_text(&text.replace(" 5000\n", "\n"), img), None, "a v2 arm line needs its weight");
        assert_eq!(
            Policy::from_text(&text.replace("call 0456", "region 0456"), img),
            None,
            "a loop takes no continuation"
        );
        assert_eq!(Policy::from_text(&text.replace("region 0123", "call 0123"), img), None, "a call takes no loop arm");
    }

    #[test]
    fn a_version_1_policy_still_loads() {
        let img = b"program";
        let v1 = format!(
            "zbeam-dispatch policy v1 image {:016x}\nquiet 1\nregion 0123 0\narm stride 8 2 4 250000 3 1\n",
            image_hash(img)
        );
        let p = Policy::from_text(&v1, img).expect("a v1 policy loads");
        let arm = Arm::Parallel { predictor: Predictor::Stride, chunk: 8, tasks: 2 };
        let s = p.regions[&0x123].arms[&arm];
        assert_eq!((s.waves, s.mean, s.commits, s.squashes, s.weight, p.quiet), (4, 0.25, 3, 1, 4, 1));
        // Its waves weigh one T-state each: a weighted wave outweighs them.
        let mut q = p.clone();
        Learner::feedback(q.regions.get_mut(&0x123).unwrap(), arm, -0.5, 10_000, 0, 0);
        assert!(q.regions[&0x123].arms[&arm].mean < -0.49);
        // Written back, it is a v2 policy; a v1 line with a weight is malformed.
        assert!(p.to_text().starts_with("zbeam-dispatch policy v2 "));
        assert_eq!(Policy::from_text(&v1.replace(" 3 1\n", " 3 1 9\n"), img), None);
    }
}
