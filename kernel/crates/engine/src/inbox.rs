//! A process's side of its mailbox: the consumer handle, freeing nodes to their senders'
//! pools, and dropping messages that were meant for an earlier process of the slot.
//!
//! Why: a send checks that its target lives, charges it and then pushes. If the target
//! exits and its slot is reused in between, the message lands in the new process's
//! mailbox. The charge cannot reach the new process (an account's word names the
//! incarnation it is for, see `memory::Account`), and the message carries the pid it was
//! sent to, so every receive here drops a message whose `to` is not the receiver's pid,
//! without uncharging it (its charge went back with the old process's).
//!
//! A selective receive ([`Inbox::take_first`]) never matches such a message; one it skips
//! stays in the private queue until a plain receive drops it or the process exits. Only
//! sends racing an exit make them, so there are at most a few.

use crate::{Message, Pid};
use zbeam_mailbox::{Consumer, Mailbox, NodePool};

/// The consumer handle of a live process's mailbox, for that process.
pub(crate) struct Inbox<'a> {
    rx: Consumer<'a, Message>,
    me: Pid,
}

impl<'a> Inbox<'a> {
    /// The inbox of process `me` with mailbox `mailbox`, freeing nodes to `nodes` from
    /// the core whose pool is `nodes[at]`; None if the consumer handle is out already.
    pub(crate) fn open(
        mailbox: &'a Mailbox<Message>,
        nodes: &'a [NodePool<Message>],
        at: usize,
        me: Pid,
    ) -> Option<Self> {
        Some(Inbox { rx: mailbox.consumer_in(nodes, at)?, me })
    }

    /// The next message for this process, in arrival order.
    pub(crate) fn pop(&mut self) -> Option<Message> {
        loop {
            let m = self.rx.pop()?;
            if m.to == self.me {
                return Some(m);
            }
        }
    }

    /// The oldest message for this process that `matches`; the others stay queued in order.
    pub(crate) fn take_first(&mut self, mut matches: impl FnMut(&Message) -> bool) -> Option<Message> {
        let me = self.me;
        self.rx.take_first(|m| m.to == me && matches(m))
    }
}

/// Empties `mailbox` (at exit, or before a spawn reuses its slot) on the core whose pool
/// is `nodes[at]`, freeing its nodes to `nodes`. Its messages' charges are returned by
/// the account's `clear`.
pub(crate) fn clear(mailbox: &Mailbox<Message>, nodes: &[NodePool<Message>], at: usize) {
    if let Some(mut rx) = mailbox.consumer_in(nodes, at) {
        rx.clear();
    }
}

/// Where a send may be stopped by a test: after its target was found live, and after the
/// message was charged (just before it is queued); and where a spawn may be: after its
/// process was published live, before the scheduler has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RacePoint {
    Checked,
    Charged,
    Published,
}

/// Sets this thread's one-shot hook: `f` runs at the thread's next pass by `point`.
#[cfg(test)]
pub(crate) fn set_race(point: RacePoint, f: alloc::boxed::Box<dyn FnOnce()>) {
    RACE.with(|r| *r.borrow_mut() = Some((point, f)));
}

/// A test's one-shot hook and the point it runs at.
#[cfg(test)]
type Hook = (RacePoint, alloc::boxed::Box<dyn FnOnce()>);

#[cfg(test)]
std::thread_local! {
    /// A test's one-shot hook, run by this thread's next send at the given point.
    static RACE: core::cell::RefCell<Option<Hook>> =
        const { core::cell::RefCell::new(None) };
}

/// Runs the test hook set for `point` on this thread, once (nothing outside tests).
#[inline(always)]
pub(crate) fn race_point(point: RacePoint) {
    #[cfg(test)]
    {
        let hook = RACE.with(|r| {
            let mut r = r.borrow_mut();
            if r.as_ref().is_some_and(|(p, _)| *p == point) {
                r.take()
            } else {
                None
            }
        });
        if let Some((_, f)) = hook {
            f();
        }
    }
    let _ = point;
}

#[cfg(test)]
mod tests {
    //! The late-send race, made deterministic: a send is stopped after it found its target
    //! live (or after it charged it), the target exits and its slot is taken by a new
    //! process, and then the send goes on. The new process must never see the message, and
    //! every byte charged must come back.
    use super::*;
    use crate::{Engine, NativeCx, NativeStep, NativeTask, Platform};
    use alloc::boxed::Box;
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use std::sync::Mutex;
    use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

    struct Quiet;
    impl Platform for Quiet {
        fn now_ms(&self) -> u64 {
            0
        }
        fn wake(&self, _cores: CpuSet) {}
        fn console(&self, _bytes: &[u8]) {}
    }

    /// Receives everything, keeping the payloads, and waits for more.
    struct Keeper(Arc<Mutex<Vec<Vec<u8>>>>);
    impl NativeTask for Keeper {
        fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
            while let Some(m) = cx.receive() {
                self.0.lock().unwrap().push(m.data.to_vec());
            }
            NativeStep::Wait { until: None }
        }
    }

    const CORE: CoreId = CoreId::new(0);

    /// Payloads a [`Keeper`] received.
    type Kept = Arc<Mutex<Vec<Vec<u8>>>>;

    fn keeper(e: &Engine<Quiet>) -> (Pid, Kept) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let pid = e.spawn_native(Box::new(Keeper(got.clone())), Priority::Normal, CpuSet::ALL, CORE).unwrap();
        (pid, got)
    }

    fn run_idle(e: &Engine<Quiet>) {
        while e.run_once(CORE) == crate::Step::Ran {}
    }

    fn late_send_never_reaches_the_next_process(point: RacePoint) {
        let e: &'static Engine<Quiet> = Box::leak(Box::new(Engine::new(Topology::uniform(1), 4, &[], Quiet)));
        let (old, _) = keeper(e);
        run_idle(e);
        let body = e.memory_of(old);
        // A node (link, pool index and a message with its inline payload) is one line.
        assert_eq!(e.memory_stats().nodes[0].node_bytes, 64);
        let next: Arc<Mutex<Option<(Pid, Kept)>>> = Arc::new(Mutex::new(None));
        let set = next.clone();
        RACE.with(|r| {
            *r.borrow_mut() = Some((
                point,
                Box::new(move || {
                    // The target exits, and a new process takes its slot.
                    assert!(e.kill(old));
                    run_idle(e);
                    assert!(!e.is_live(old));
                    let mut spares = Vec::new();
                    let new = loop {
                        let (pid, got) = keeper(e);
                        if pid.index() == old.index() {
                            break (pid, got);
                        }
                        spares.push(pid);
                        assert!(spares.len() < 64, "the old slot is never reused");
                    };
                    *set.lock().unwrap() = Some(new);
                }),
            ));
        });
        let sent = e.send(Pid::KERNEL, old, b"late");
        let (new, got) = next.lock().unwrap().take().expect("the hook ran");
        assert_ne!(new, old);
        // Stopped before its charge, the send finds the slot's account is the new
        // process's, and answers as to a dead process; stopped after it, the message is
        // queued in the slot's mailbox with its charge gone with the old process. Either
        // way the new process is charged for nothing of it.
        if point == RacePoint::Checked {
            assert_eq!(sent, Err(crate::SendError::NoSuchProcess));
        }
        assert_eq!(e.memory_of(new), body);
        // Something the new process is really sent arrives, and only that.
        e.send(Pid::KERNEL, new, b"mine").unwrap();
        run_idle(e);
        assert_eq!(*got.lock().unwrap(), [b"mine".to_vec()], "send answered {sent:?}");
        // The late message was charged to no one still alive: once every process has
        // exited, nothing is charged.
        for pid in e.live_pids() {
            e.kill(pid);
        }
        run_idle(e);
        assert_eq!(e.live(), 0);
        assert_eq!(e.memory_stats().charged, 0);
    }

    #[test]
    fn a_send_that_found_its_target_live_never_reaches_the_slots_next_process() {
        late_send_never_reaches_the_next_process(RacePoint::Checked);
    }

    #[test]
    fn a_send_charged_before_its_target_exited_never_reaches_the_slots_next_process() {
        late_send_never_reaches_the_next_process(RacePoint::Charged);
    }
}
