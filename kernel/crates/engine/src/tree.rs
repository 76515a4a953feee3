//! Stopping a process and everything it spawned, directly or indirectly, in a way
//! re-spawning cannot outrun (issue 12: a linked tree whose members re-spawn on
//! failure filled slots as fast as exits spread, and `kill` on its root never
//! finished).
//!
//! What: every slot records who spawned it (pid and that process's incarnation). A
//! *frozen* process cannot spawn (its SPAWN answers NO_RESOURCES), and a child whose
//! spawn raced its parent's freezing is frozen and killed by the spawn itself.
//! [`Engine::stop_tree`] freezes the root, then every live process with a frozen
//! ancestor, until no new one is found, and kills them all. Since no frozen process
//! can add a live process, each kill shrinks the tree for good.
//!
//! The tree is closed the moment its root is frozen: while a stop is in progress, a
//! spawn looks up its spawner's ancestry for a frozen process (before it takes a slot,
//! and again after it published the child, as the race check above), not only at the
//! spawner. Why: the members the scan has not frozen yet would otherwise go on
//! spawning during the scan, into slots it has already passed; when the bomb's own
//! exits make room for them (at the memory budget, children keep dying for want of a
//! page), each round would leave new unfrozen members behind until the rounds ran out,
//! and the bomb would live on.
//!
//! Ancestry survives a parent's exit: a slot whose process ended goes back to the
//! free list only when no child's parent record names it any more (a count of
//! holds, like a zombie in Unix waiting for its children), so a grandchild is still
//! found when the middle of its chain has died, however full the table is.

use crate::{pid::INDEX_MASK, Engine, Pid, Platform};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{fence, Ordering};

/// The walk's working memory, made once with the engine (a byte per slot), so that a
/// stop needs no allocation: it is most needed when memory has run out.
pub(crate) struct Scratch {
    mark: Vec<Mark>,
    chain: Vec<u32>,
}

impl Scratch {
    /// Room for a table of `slots` slots and chains of 64 (longer ones grow).
    pub(crate) fn new(slots: usize) -> Self {
        Scratch { mark: vec![Mark::Unknown; slots], chain: Vec::with_capacity(64) }
    }
}

/// What the walk knows of a slot.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Unknown,
    /// In the tree being stopped (frozen).
    In,
    /// Not in it.
    Out,
}

impl<P: Platform + ?Sized> Engine<P> {
    /// Whether `pid`'s current (or last, if dead and not reused) incarnation is frozen.
    pub(crate) fn is_frozen(&self, pid: u32) -> bool {
        // SeqCst: the spawn's check after publishing its child and stop_tree's scan
        // after freezing form a Dekker pair (one of them sees the other).
        self.slot(pid).is_some_and(|s| s.frozen.load(Ordering::SeqCst))
    }

    /// Records `parent` (0 = none, or a live process: the caller) as the spawner of the
    /// child in `child`'s slot; the parent's slot is held until the child's is released.
    pub(crate) fn set_parent(&self, child: u32, parent: u32) {
        let Some(slot) = self.slot(child) else { return };
        let gen = match self.slot(parent) {
            Some(p) => {
                // SeqCst: see release_slot.
                p.holds.fetch_add(1, Ordering::SeqCst);
                p.generation.load(Ordering::Relaxed)
            }
            None => 0,
        };
        // Relaxed: published by the spawn's Release store of `live`.
        slot.parent.store(parent, Ordering::Relaxed);
        slot.parent_gen.store(gen, Ordering::Relaxed);
        slot.frozen.store(false, Ordering::SeqCst);
    }

    /// Whether a spawn by `parent` (0 = the kernel) must be refused: it is frozen, or a
    /// tree stop is in progress and one of its ancestors is (its tree is being stopped).
    pub(crate) fn spawner_frozen(&self, parent: u32) -> bool {
        if parent == 0 {
            return false;
        }
        if self.is_frozen(parent) {
            return true;
        }
        // SeqCst: stop_tree freezes its root and then counts itself in `stopping`; a
        // spawn that sees the count sees the root frozen (and one that does not is seen
        // live by the stop's scan, which comes after the count).
        if self.stopping.load(Ordering::SeqCst) == 0 {
            return false;
        }
        // Up the spawner's ancestry (at most the table's size: a longer chain is a
        // cycle through reused slots, and not a tree being stopped).
        let mut at = parent;
        for _ in 0..self.slots.len() {
            match self.parent_of(at) {
                Some(p) if self.is_frozen(p) => return true,
                Some(p) => at = p,
                None => return false,
            }
        }
        false
    }

    /// After publishing `child`: if its parent was frozen meanwhile (or, during a tree
    /// stop, an ancestor), the child is frozen and killed too (stop_tree's scan may have
    /// missed it).
    pub(crate) fn check_spawn_race(&self, child: u32, parent: u32) {
        if parent == 0 {
            return;
        }
        fence(Ordering::SeqCst);
        if self.spawner_frozen(parent) {
            if let Some(s) = self.slot(child) {
                s.frozen.store(true, Ordering::SeqCst);
            }
            self.kill(Pid::from_raw(child));
        }
    }

    /// A dead process's slot (index `index`) goes back to the free list once no child
    /// holds it; then its own hold on its parent's slot is let go, which may release
    /// that one too.
    pub(crate) fn release_slot(&self, index: u32) {
        let mut at = index;
        let Some(slot) = self.slot_at(at) else { return };
        // SeqCst (here and in the holds decrement below): the dying slot sets `zombie`
        // then reads `holds`, its last child decrements `holds` then swaps `zombie`;
        // whichever comes second sees the other, and the swap lets only one release.
        slot.zombie.store(true, Ordering::SeqCst);
        if slot.holds.load(Ordering::SeqCst) != 0 || !slot.zombie.swap(false, Ordering::SeqCst) {
            return;
        }
        loop {
            let s = &self.slots[at as usize];
            let parent = s.parent.swap(0, Ordering::Relaxed);
            self.free.lock().push_back(at);
            // The parent's slot still holds its pid: our hold kept it from reuse.
            let Some(p) = self.slot(parent) else { return };
            if p.holds.fetch_sub(1, Ordering::SeqCst) != 1 || !p.zombie.swap(false, Ordering::SeqCst) {
                return;
            }
            at = parent & INDEX_MASK;
        }
    }

    /// The spawner of the incarnation in slot `pid`, if that spawner's slot still holds
    /// the same incarnation or its remains (dead, kept while it has children).
    fn parent_of(&self, pid: u32) -> Option<u32> {
        let slot = self.slot(pid)?;
        let parent = slot.parent.load(Ordering::Relaxed);
        let gen = slot.parent_gen.load(Ordering::Relaxed);
        let p = self.slot(parent)?;
        let pgen = p.generation.load(Ordering::Relaxed);
        // The same incarnation (alive, or in its teardown: `live` is cleared before the
        // generation is bumped, and a slot is reused only after that bump), or dead
        // once since and not reused. Requiring `live` for the first case made a scan
        // that met a parent mid-teardown lose its children.
        let same = pgen == gen;
        let remains = pgen == gen.wrapping_add(1) && !p.live.load(Ordering::Acquire);
        (same || remains).then_some(parent)
    }

    /// Freezes and kills `root` and every process it spawned, directly or indirectly
    /// (see the module doc). `root` may have ended already (a killed root whose tree
    /// lives on): its descendants are still found through its slot's remains. Returns
    /// how many live processes it stopped, or None if there were none.
    pub fn stop_tree(&self, root: Pid) -> Option<usize> {
        let root = root.get();
        self.slot(root)?;
        let root = root & INDEX_MASK;
        let n = self.slots.len();
        let mut stopped = 0;
        let mut scratch = self.stop_scratch.lock();
        let Scratch { mark, chain } = &mut *scratch;
        // The root first, then the count that makes spawns look up their ancestry for
        // it (see `spawner_frozen`). SeqCst: the Dekker pairs with spawns' checks.
        self.slots[root as usize].frozen.store(true, Ordering::SeqCst);
        self.stopping.fetch_add(1, Ordering::SeqCst);
        // A child spawned while its parent was being frozen can be missed by one scan;
        // the next scan finds it under its frozen parent. Rounds end when one freezes
        // nobody new (bounded, in case a tree keeps the race going).
        for _ in 0..STOP_ROUNDS {
            mark.iter_mut().for_each(|m| *m = Mark::Unknown);
            mark[root as usize] = Mark::In;
            self.slots[root as usize].frozen.store(true, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            for index in 1..n {
                let pid = self.pid_at(index);
                if mark[index] != Mark::Unknown || !self.is_live(Pid::from_raw(pid)) {
                    continue;
                }
                // Walk up until a known slot, a frozen ancestor or the top.
                chain.clear();
                let mut at = pid;
                let verdict = loop {
                    match mark[(at & INDEX_MASK) as usize] {
                        Mark::Unknown if self.is_frozen(at) => break Mark::In,
                        Mark::Unknown => {}
                        known => break known,
                    }
                    chain.push(at);
                    match self.parent_of(at) {
                        // A chain longer than the table is a reuse cycle: not ours.
                        Some(p) if chain.len() < n => at = p,
                        _ => break Mark::Out,
                    }
                };
                for &c in chain.iter() {
                    mark[(c & INDEX_MASK) as usize] = verdict;
                }
            }
            #[cfg(test)]
            scanned_hook();
            let mut new = 0;
            for (index, &m) in mark.iter().enumerate().skip(1) {
                let pid = self.pid_at(index);
                if m == Mark::In && self.is_live(Pid::from_raw(pid)) {
                    let was = self.slots[index].frozen.swap(true, Ordering::SeqCst);
                    if !was || index == root as usize && stopped == 0 {
                        new += 1;
                    }
                    self.kill(Pid::from_raw(pid));
                }
            }
            stopped += new;
            if new == 0 {
                break;
            }
        }
        // SeqCst: as the increment. Every member live from here on is frozen, so the
        // spawner's own flag stops any spawn still in flight.
        self.stopping.fetch_sub(1, Ordering::SeqCst);
        (stopped > 0).then_some(stopped)
    }
}

#[cfg(test)]
std::thread_local! {
    /// A test's hook, run by this thread's tree stops after each round's scan (before
    /// the round freezes and kills what it found).
    static SCANNED: core::cell::RefCell<Option<alloc::boxed::Box<dyn FnMut()>>> =
        const { core::cell::RefCell::new(None) };
}

#[cfg(test)]
fn scanned_hook() {
    let hook = SCANNED.with(|h| h.borrow_mut().take());
    if let Some(mut f) = hook {
        f();
        SCANNED.with(|h| *h.borrow_mut() = Some(f));
    }
}

impl<P: Platform + ?Sized> Engine<P> {
    /// Live processes frozen by a tree stop and not yet torn down (0 once every
    /// stopped tree is gone).
    pub fn frozen_live(&self) -> usize {
        // SeqCst: pairs with the freezing stores (see is_frozen).
        self.slots.iter().skip(1).filter(|s| s.live.load(Ordering::Acquire) && s.frozen.load(Ordering::SeqCst)).count()
    }
}

/// Most scans [`Engine::stop_tree`] makes.
const STOP_ROUNDS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::{set_race, RacePoint};
    use crate::{Exit, Image, SpawnError, SpawnOpts, Step};
    use alloc::boxed::Box;
    use alloc::sync::Arc;
    use std::sync::Mutex;
    use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

    /// Receives into 0x0200 forever, in a loop.
    const WAITER: &[u8] = &[0x3e, 0x03, 0x11, 0x00, 0x02, 0x01, 0x10, 0x00, 0x21, 0xff, 0xff, 0xf7, 0x18, 0xf2];
    static IMAGES: &[Image] = &[Image { name: "waiter", bytes: WAITER }];
    const CORE: CoreId = CoreId::new(0);

    struct Quiet;
    impl Platform for Quiet {
        fn now_ms(&self) -> u64 {
            0
        }
        fn wake(&self, _cores: CpuSet) {}
        fn console(&self, _bytes: &[u8]) {}
    }

    fn engine() -> &'static Engine<Quiet> {
        Box::leak(Box::new(Engine::new(Topology::uniform(1), 128, IMAGES, Quiet)))
    }

    /// A waiter spawned by `parent` (as its SPAWN would).
    fn child_of(e: &Engine<Quiet>, parent: Pid) -> Result<Pid, SpawnError> {
        e.spawn_image_opts(0, &[], SpawnOpts::new(Priority::Normal, CpuSet::ALL), parent, CORE).map(|(p, _)| p)
    }

    fn run_idle(e: &Engine<Quiet>) {
        while e.run_once(CORE) == Step::Ran {}
    }

    /// A bomb's members spawn while a stop scans the table on another core, into slots
    /// the scan has passed. Here the newest member spawns after every round's scan: once
    /// the root is frozen, none of those spawns may succeed, and nothing of the tree
    /// may outlive the stop.
    #[test]
    fn members_cannot_spawn_once_the_root_is_frozen() {
        let e = engine();
        let root = child_of(e, Pid::KERNEL).unwrap();
        let first = child_of(e, root).unwrap();
        run_idle(e);
        let newest = Arc::new(Mutex::new(first));
        let tries: Arc<Mutex<Vec<Result<Pid, SpawnError>>>> = Arc::new(Mutex::new(Vec::new()));
        let (n, t) = (newest.clone(), tries.clone());
        SCANNED.with(|h| {
            *h.borrow_mut() = Some(Box::new(move || {
                let parent = *n.lock().unwrap();
                let r = child_of(e, parent);
                if let Ok(c) = r {
                    *n.lock().unwrap() = c;
                }
                t.lock().unwrap().push(r);
            }))
        });
        let stopped = e.stop_tree(root);
        SCANNED.with(|h| *h.borrow_mut() = None);
        run_idle(e);
        let tries = tries.lock().unwrap();
        assert_eq!(stopped, Some(2), "tries: {tries:?}");
        assert!(!tries.is_empty());
        assert!(tries.iter().all(|r| *r == Err(SpawnError::Frozen)), "spawns during the stop: {tries:?}");
        assert_eq!(e.live(), 0, "a member outlived the stop (spawns during it: {tries:?})");
        assert_eq!(e.frozen_live(), 0);
        // Outside a stop, the same ancestry spawns again.
        let again = child_of(e, Pid::KERNEL).unwrap();
        assert!(child_of(e, again).is_ok());
    }

    /// A kill that finds the new process live before the spawn has handed it to the
    /// scheduler (what a stop's scan does to a bomb's newest member) still ends it.
    #[test]
    fn a_kill_between_publish_and_queue_is_not_lost() {
        let e = engine();
        // A fresh table hands out slot 1, generation 0, first.
        let target = Pid::new(1, 0);
        set_race(RacePoint::Published, Box::new(move || assert!(e.kill(target), "live once published")));
        let pid = e.spawn_image(0, &[], Priority::Normal, CpuSet::ALL, CORE).unwrap();
        assert_eq!(pid, target);
        run_idle(e);
        assert!(!e.is_live(pid), "the killed process runs on");
        assert_eq!(e.last_exit(pid), Some(Exit::Killed));
    }
}
