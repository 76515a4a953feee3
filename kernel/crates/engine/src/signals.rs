//! Links, monitors, exit signals, registered names and console input: the parts of
//! the system interface that relate processes to each other (Erlang's "let it
//! crash", as `erts/emulator/beam/erl_proc_sig_queue.c` and the Erlang reference
//! manual's "Processes" chapter describe it).
//!
//! What: every slot has a small control block ([`Ctl`]) behind its own lock: the pids
//! it is linked to, who monitors it, whom it monitors, whether it traps exits, whether
//! it has a registered name. When a process is torn down, [`Engine::exit_signals`]
//! marks the block dead and sends an exit signal to every link and a DOWN message to
//! every monitor. A linked process that traps exits gets the signal as a message
//! (tag [`abi::tag::EXIT`]); otherwise a reason other than NORMAL kills it with the
//! same reason, which travels on to its own links.
//!
//! Why this shape: no code path ever holds two control-block locks at once, so there
//! is no lock order to get wrong. A relation is always written on the caller's side
//! first and then on the other side under the other side's lock, where the `dead`
//! flag is checked; the side that finds the other dead undoes its half. So a link
//! never outlives either end, and a process that links to one that is exiting gets
//! either the real exit signal or NOPROC, never nothing.
//!
//! Cost: none of this is on the send/receive path. A process with no links, monitors
//! or name pays one uncontended lock at exit.

use crate::{abi, limits, Engine, Exit, Pid, Platform};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use zbeam_sched::{CpuSet, Priority};

/// A slot's relations to other processes (guarded by the slot's `ctl` lock).
#[derive(Debug)]
pub(crate) struct Ctl {
    /// No process, or its exit signals are being sent: nothing may be added.
    pub(crate) dead: bool,
    /// Traps exits: exit signals arrive as messages.
    pub(crate) trap: bool,
    /// Linked pids (raw).
    pub(crate) links: Vec<u32>,
    /// Who monitors this process: (reference, watcher).
    pub(crate) monitors: Vec<(u16, u32)>,
    /// Whom this process monitors: (reference, target).
    pub(crate) watching: Vec<(u16, u32)>,
    /// It may hold a registered name (set before registering; cleared at exit).
    pub(crate) named: bool,
}

impl Default for Ctl {
    fn default() -> Self {
        Ctl { dead: true, trap: false, links: Vec::new(), monitors: Vec::new(), watching: Vec::new(), named: false }
    }
}

/// Relations a spawn establishes before the child can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Relations {
    /// The spawning process, raw pid (0 = none).
    pub(crate) parent: u32,
    /// Link parent and child.
    pub(crate) link: bool,
    /// The parent monitors the child.
    pub(crate) monitor: bool,
}

impl Relations {
    /// No relations (plain spawn).
    pub(crate) const NONE: Relations = Relations { parent: 0, link: false, monitor: false };
}

/// Options of [`Engine::spawn_image_opts`] and [`crate::NativeCx::spawn_opts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpawnOpts {
    /// Scheduling priority.
    pub prio: Priority,
    /// Cores it may run on.
    pub affinity: CpuSet,
    /// Link it to the spawning process before it runs (Erlang's `spawn_link`).
    pub link: bool,
    /// The spawning process monitors it (Erlang's `spawn_monitor`).
    pub monitor: bool,
    /// Its memory limit in bytes; 0 = the default (`memory::DEFAULT_LIMIT`).
    pub memory_limit: usize,
}

impl SpawnOpts {
    /// Priority and affinity, no link, no monitor.
    pub fn new(prio: Priority, affinity: CpuSet) -> Self {
        SpawnOpts { prio, affinity, link: false, monitor: false, memory_limit: 0 }
    }
}

/// Why a link, monitor or exit signal was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// The pid is 0 or outside the process table, or the caller is not live.
    BadPid,
    /// An end already holds [`limits::MAX_LINKS`] links, or the watcher
    /// [`limits::MAX_MONITORS`] monitors.
    Limit,
}

/// Why a name operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// Empty or longer than [`abi::MAX_NAME`].
    BadName,
    /// The pid names no live process.
    BadPid,
    /// The name is registered already, or the process already has a name.
    Taken,
    /// No such name.
    NotFound,
    /// The name table holds [`abi::MAX_NAMES`] names.
    Full,
}

/// What [`Engine::link`] and [`Engine::monitor`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The relation is in place.
    Alive,
    /// The target is dead; NOPROC was signalled to the caller.
    NoProc,
}

impl<P: Platform + ?Sized> Engine<P> {
    /// Whether `pid` was ever given to a process (it may be dead, or an earlier one of
    /// its slot): its slot is in the table and holds it, or has held it (its
    /// generation is below the slot's count of processes). Others are bogus.
    fn pid_in_range(&self, pid: u32) -> bool {
        self.slot_at(pid).is_some_and(|s| {
            // Acquire: pairs with the Release store of `pid` in spawn_body.
            let gen = crate::Pid::from_raw(pid).generation();
            s.pid.load(Ordering::Acquire) == pid || gen < s.generation.load(Ordering::Relaxed)
        })
    }

    /// Locks `pid`'s control block and runs `f` on it.
    fn with_ctl<R>(&self, pid: u32, f: impl FnOnce(&mut Ctl) -> R) -> Option<R> {
        let slot = self.slot(pid)?;
        let mut c = slot.ctl.lock();
        Some(f(&mut c))
    }

    /// Locks `pid`'s control block if the process lives and runs `f` on it.
    fn with_live_ctl<R>(&self, pid: u32, f: impl FnOnce(&mut Ctl) -> R) -> Option<R> {
        let slot = self.slot(pid)?;
        let mut c = slot.ctl.lock();
        // Acquire: pairs with spawn's Release store; checked under the lock that
        // `exit_signals` takes after clearing `live`. The pid is checked again under
        // the lock: the slot may have been reused since `slot` looked.
        if c.dead || !slot.live.load(Ordering::Acquire) || slot.pid.load(Ordering::Acquire) != pid {
            return None;
        }
        Some(f(&mut c))
    }

    fn new_ref(&self) -> u16 {
        loop {
            // Relaxed: only uniqueness matters, and the counter is only ever added to.
            let r = self.next_ref.fetch_add(1, Ordering::Relaxed).wrapping_add(1) as u16;
            if r != 0 {
                return r;
            }
        }
    }

    /// Sets up the child's control block (and the parent's half of any relation)
    /// before the child is visible. Returns the monitor reference (0 = none).
    pub(crate) fn relate_at_spawn(&self, child: u32, rel: Relations) -> u16 {
        let mut c = Ctl { dead: false, ..Ctl::default() };
        let mut mref = 0;
        if rel.parent != 0 && (rel.link || rel.monitor) {
            if rel.monitor {
                mref = self.new_ref();
            }
            let done = self.with_live_ctl(rel.parent, |p| {
                if rel.link {
                    p.links.push(child);
                }
                if rel.monitor {
                    p.watching.push((mref, child));
                }
            });
            if done.is_some() {
                if rel.link {
                    c.links.push(rel.parent);
                }
                if rel.monitor {
                    c.monitors.push((mref, rel.parent));
                }
            } else {
                mref = 0;
            }
        }
        if let Some(slot) = self.slot(child) {
            *slot.ctl.lock() = c;
        }
        mref
    }

    /// Whether `parent` (0 = none) has room for the relations `rel` would add to it.
    pub(crate) fn room_for(&self, rel: Relations) -> bool {
        if rel.parent == 0 {
            return true;
        }
        self.with_ctl(rel.parent, |p| {
            (!rel.link || p.links.len() < limits::MAX_LINKS)
                && (!rel.monitor || p.watching.len() < limits::MAX_MONITORS)
        })
        .unwrap_or(true)
    }

    /// Relations of the live process `pid`: (links, monitors it holds as watcher,
    /// monitors on it), or None if it is dead.
    pub fn relation_counts(&self, pid: Pid) -> Option<(usize, usize, usize)> {
        let pid = pid.get();
        self.with_live_ctl(pid, |c| (c.links.len(), c.watching.len(), c.monitors.len()))
    }

    /// Names registered now.
    pub fn names_registered(&self) -> usize {
        self.names.lock().len()
    }

    /// Undoes [`Engine::relate_at_spawn`] for a spawn the scheduler refused.
    pub(crate) fn unrelate_failed_spawn(&self, child: u32, rel: Relations, mref: u16) {
        if rel.parent != 0 {
            self.with_ctl(rel.parent, |p| {
                p.links.retain(|&l| l != child);
                p.watching.retain(|&(r, t)| !(r == mref && t == child));
            });
        }
        self.with_ctl(child, |c| *c = Ctl::default());
    }

    /// Spawns a Z80 process from image `image` with `args`, linked to and/or
    /// monitored by `parent` (a live pid, or [`Pid::KERNEL`] for none) as `opts` says. Returns the
    /// child's pid and the monitor reference (0 without a monitor).
    pub fn spawn_image_opts(
        &self,
        image: usize,
        args: &[u8],
        opts: SpawnOpts,
        parent: Pid,
        from: zbeam_sched::CoreId,
    ) -> Result<(crate::Pid, u16), crate::SpawnError> {
        let parent = parent.get();
        let body = self.z80_body(image, args, opts.prio, opts.affinity, from)?.limited(opts.memory_limit);
        let rel = Relations { parent, link: opts.link, monitor: opts.monitor };
        self.spawn_body(body, opts.prio, opts.affinity, from, rel)
    }

    /// Spawns a native task with the relations of `opts` to `parent` (see
    /// [`Engine::spawn_image_opts`]).
    pub fn spawn_native_opts(
        &self,
        task: alloc::boxed::Box<dyn crate::NativeTask>,
        opts: SpawnOpts,
        parent: Pid,
        from: zbeam_sched::CoreId,
    ) -> Result<(crate::Pid, u16), crate::SpawnError> {
        let parent = parent.get();
        let body = crate::Body::native(task, opts.prio, opts.affinity);
        let rel = Relations { parent, link: opts.link, monitor: opts.monitor };
        self.spawn_body(body, opts.prio, opts.affinity, from, rel)
    }

    /// Delivers an exit signal from `from` with `reason` to `to`. With `link`, it is
    /// the exit of a linked process: it is dropped unless the link still stands, and
    /// the link goes. A process trapping exits gets an EXIT message; otherwise a
    /// reason other than NORMAL kills it with that reason.
    fn deliver_exit(&self, from: u32, to: u32, reason: u16, link: bool) {
        let trap = self.with_live_ctl(to, |c| {
            if link {
                let i = c.links.iter().position(|&l| l == from)?;
                c.links.swap_remove(i);
            }
            Some(c.trap)
        });
        match trap.flatten() {
            Some(true) => {
                let _ = self.send_tagged(
                    Pid::from_raw(from),
                    Pid::from_raw(to),
                    abi::tag::EXIT,
                    &abi::exit_message(Pid::from_raw(from), reason),
                );
            }
            Some(false) if reason != abi::reason::NORMAL => {
                self.kill_with(to, Exit::from_reason(reason as u32));
            }
            _ => {}
        }
    }

    /// Sends the exits of process `pid` (torn down with `exit`) to its links and
    /// monitors, drops its name and its claim on the console.
    pub(crate) fn exit_signals(&self, pid: u32, exit: Exit) {
        let Some(slot) = self.slot(pid) else { return };
        let (links, monitors, watching, named) = {
            let mut c = slot.ctl.lock();
            c.dead = true;
            c.trap = false;
            let named = core::mem::take(&mut c.named);
            (core::mem::take(&mut c.links), core::mem::take(&mut c.monitors), core::mem::take(&mut c.watching), named)
        };
        let reason = exit.reason();
        for l in links {
            self.deliver_exit(pid, l, reason, true);
        }
        for (r, w) in monitors {
            let still = self.with_ctl(w, |c| {
                let i = c.watching.iter().position(|&(rr, t)| rr == r && t == pid)?;
                c.watching.swap_remove(i);
                Some(())
            });
            if still.flatten().is_some() {
                let _ = self.send_tagged(
                    Pid::from_raw(pid),
                    Pid::from_raw(w),
                    abi::tag::DOWN,
                    &abi::down_message(r, Pid::from_raw(pid), reason),
                );
            }
        }
        for (r, t) in watching {
            self.with_ctl(t, |c| c.monitors.retain(|&(rr, w)| !(rr == r && w == pid)));
        }
        if named {
            self.names.lock().retain(|&(_, _, p)| p != pid);
        }
        // Relaxed: a claim word; the console reader only compares against its own pid.
        let _ = self.console_reader.compare_exchange(pid, 0, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Links `me` (a live process, normally the caller) and `other`. If `other` is dead,
    /// `me` gets an exit signal with reason NOPROC instead (a message when it traps
    /// exits; otherwise it is killed). Linking to itself does nothing.
    pub fn link(&self, me: Pid, other: Pid) -> Result<(), LinkError> {
        let (me, other) = (me.get(), other.get());
        self.link_inner(me, other).map(|_| ())
    }

    pub(crate) fn link_inner(&self, me: u32, other: u32) -> Result<Target, LinkError> {
        if !self.pid_in_range(other) {
            return Err(LinkError::BadPid);
        }
        if me == other {
            return self.is_live(Pid::from_raw(me)).then_some(Target::Alive).ok_or(LinkError::BadPid);
        }
        // Ok(true): this call added our half (a failure further on must take it away).
        let added = self
            .with_live_ctl(me, |c| {
                if c.links.contains(&other) {
                    Ok(false)
                } else if c.links.len() >= limits::MAX_LINKS {
                    Err(LinkError::Limit)
                } else {
                    c.links.push(other);
                    Ok(true)
                }
            })
            .ok_or(LinkError::BadPid)??;
        let linked = self.with_live_ctl(other, |c| {
            if c.links.contains(&me) {
                true
            } else if c.links.len() >= limits::MAX_LINKS {
                false
            } else {
                c.links.push(me);
                true
            }
        });
        match linked {
            Some(true) => return Ok(Target::Alive),
            Some(false) => {
                // The other end is full: no link.
                if added {
                    self.with_ctl(me, |c| c.links.retain(|&l| l != other));
                }
                return Err(LinkError::Limit);
            }
            None => {}
        }
        // The other side is dead: undo our half and tell ourselves. If our half was
        // already taken by its exit, its own signal came (or comes) instead.
        let ours = self.with_ctl(me, |c| {
            let i = c.links.iter().position(|&l| l == other)?;
            c.links.swap_remove(i);
            Some(())
        });
        if ours.flatten().is_some() {
            self.deliver_exit(other, me, abi::reason::NOPROC, false);
        }
        Ok(Target::NoProc)
    }

    /// Removes the link between `me` and `other`, if any.
    pub fn unlink(&self, me: Pid, other: Pid) -> Result<(), LinkError> {
        let (me, other) = (me.get(), other.get());
        if !self.pid_in_range(other) || !self.is_live(Pid::from_raw(me)) {
            return Err(LinkError::BadPid);
        }
        self.with_ctl(me, |c| c.links.retain(|&l| l != other));
        self.with_ctl(other, |c| c.links.retain(|&l| l != me));
        Ok(())
    }

    /// `watcher` monitors `target`; returns the reference. If `target` is dead, a DOWN
    /// message with reason NOPROC is queued for the watcher at once.
    pub fn monitor(&self, watcher: Pid, target: Pid) -> Result<u16, LinkError> {
        let (watcher, target) = (watcher.get(), target.get());
        if !self.pid_in_range(target) {
            return Err(LinkError::BadPid);
        }
        let r = self.new_ref();
        self.with_live_ctl(watcher, |c| {
            if c.watching.len() >= limits::MAX_MONITORS {
                return Err(LinkError::Limit);
            }
            c.watching.push((r, target));
            Ok(())
        })
        .ok_or(LinkError::BadPid)??;
        if self.with_live_ctl(target, |c| c.monitors.push((r, watcher))).is_none() {
            self.with_ctl(watcher, |c| c.watching.retain(|&(rr, _)| rr != r));
            let _ = self.send_tagged(
                Pid::from_raw(target),
                Pid::from_raw(watcher),
                abi::tag::DOWN,
                &abi::down_message(r, Pid::from_raw(target), abi::reason::NOPROC),
            );
        }
        Ok(r)
    }

    /// Ends monitor `mref` of `watcher`; a DOWN for it already queued is removed
    /// (Erlang's `demonitor(Ref, [flush])`). False if the reference is unknown: never
    /// made, already ended, or its DOWN was already received.
    pub fn demonitor(&self, watcher: Pid, mref: u16) -> bool {
        let watcher = watcher.get();
        let target = self
            .with_ctl(watcher, |c| {
                let i = c.watching.iter().position(|&(r, _)| r == mref)?;
                Some(c.watching.swap_remove(i).1)
            })
            .flatten();
        if let Some(t) = target {
            self.with_ctl(t, |c| c.monitors.retain(|&(r, w)| !(r == mref && w == watcher)));
            return true;
        }
        // Its DOWN may be queued: take it out.
        let Some(slot) = self.slot(watcher) else { return false };
        let Some(mut rx) =
            crate::inbox::Inbox::open(&slot.mailbox, &self.nodes, self.core_index(None), crate::Pid::from_raw(watcher))
        else {
            return false;
        };
        let flushed = rx.take_first(|m| m.tag == abi::tag::DOWN && m.data.get(0..2) == Some(&mref.to_le_bytes()[..]));
        if let Some(m) = &flushed {
            // Relaxed: a statistic (queue length for `ps`).
            slot.taken.fetch_add(1, Ordering::Relaxed);
            slot.account.uncharge(crate::memory::message_bytes(m.data.len()), &self.budget);
        }
        flushed.is_some()
    }

    /// Sets whether `pid` traps exits; returns the previous setting (None if dead).
    pub fn set_trap_exit(&self, pid: Pid, on: bool) -> Option<bool> {
        let pid = pid.get();
        self.with_live_ctl(pid, |c| core::mem::replace(&mut c.trap, on))
    }

    /// Sends an exit signal with `reason` from `from` to `to`, as a linked process's
    /// exit would (a trapping target gets a message; otherwise NORMAL is ignored and
    /// anything else kills it with that reason). Use [`Engine::kill`] for an
    /// untrappable kill.
    pub fn exit_signal(&self, from: Pid, to: Pid, reason: u16) -> Result<(), LinkError> {
        let (from, to) = (from.get(), to.get());
        if !self.pid_in_range(to) {
            return Err(LinkError::BadPid);
        }
        self.deliver_exit(from, to, reason, false);
        Ok(())
    }

    /// Registers `name` for `pid`.
    pub fn register(&self, name: &[u8], pid: Pid) -> Result<(), NameError> {
        let pid = pid.get();
        if name.is_empty() || name.len() > abi::MAX_NAME {
            return Err(NameError::BadName);
        }
        self.with_live_ctl(pid, |c| c.named = true).ok_or(NameError::BadPid)?;
        let mut key = [0u8; abi::MAX_NAME];
        key[..name.len()].copy_from_slice(name);
        let len = name.len() as u8;
        {
            let mut names = self.names.lock();
            if names.iter().any(|&(k, l, p)| (k == key && l == len) || p == pid) {
                return Err(NameError::Taken);
            }
            if names.len() >= abi::MAX_NAMES {
                return Err(NameError::Full);
            }
            names.push((key, len, pid));
        }
        // It may have exited meanwhile, after its exit looked at the table.
        if !self.is_live(Pid::from_raw(pid)) {
            self.names.lock().retain(|&(_, _, p)| p != pid);
            return Err(NameError::BadPid);
        }
        Ok(())
    }

    /// Removes `name` from the table.
    pub fn unregister(&self, name: &[u8]) -> Result<(), NameError> {
        if name.is_empty() || name.len() > abi::MAX_NAME {
            return Err(NameError::BadName);
        }
        let mut names = self.names.lock();
        let i = names.iter().position(|(k, l, _)| &k[..*l as usize] == name).ok_or(NameError::NotFound)?;
        names.swap_remove(i);
        Ok(())
    }

    /// The pid registered under `name`.
    pub fn whereis(&self, name: &[u8]) -> Option<Pid> {
        let names = self.names.lock();
        names.iter().find(|(k, l, _)| &k[..*l as usize] == name).map(|&(_, _, p)| Pid::from_raw(p))
    }

    /// Console input from the platform: queued (up to [`abi::CONSOLE_QUEUE`] bytes; the
    /// rest is dropped) for the foreground reader, which is woken. Returns how many
    /// bytes were queued.
    pub fn console_input(&self, bytes: &[u8]) -> usize {
        let n = {
            let mut q = self.console_in.lock();
            let n = bytes.len().min(abi::CONSOLE_QUEUE.saturating_sub(q.len()));
            q.extend(&bytes[..n]);
            n
        };
        // Relaxed: a claim word; a stale reader is only woken for nothing.
        let reader = self.console_reader.load(Ordering::Relaxed);
        if reader != 0 {
            self.notify(Pid::from_raw(reader));
        }
        n
    }

    /// Makes `pid` the foreground console reader ([`Pid::KERNEL`] = none; console reads then wait).
    /// The reader is woken. Bytes queued stay for the next reader.
    pub fn set_console_reader(&self, pid: Pid) {
        let pid = pid.get();
        // Relaxed: see `console_input`.
        self.console_reader.store(pid, Ordering::Relaxed);
        if pid != 0 {
            self.notify(Pid::from_raw(pid));
        }
    }

    /// The foreground console reader ([`Pid::KERNEL`] if none).
    pub fn console_reader(&self) -> Pid {
        // Relaxed: see `console_input`.
        Pid::from_raw(self.console_reader.load(Ordering::Relaxed))
    }

    /// The next console byte for `pid`, if it is the foreground reader.
    pub(crate) fn console_take(&self, pid: Pid) -> Option<u8> {
        if self.console_reader() != pid {
            return None;
        }
        self.console_in.lock().pop_front()
    }
}
