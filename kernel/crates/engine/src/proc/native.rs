//! Native cooperative tasks: kernel services, supervisors and test drivers that run as
//! processes under the same scheduler as Z80 programs (as BEAM's system tasks do). A
//! task's [`NativeTask::step`] gets a [`NativeCx`], the engine's interface for it.

use super::{RunCx, Slice, CALL_COST, RECEIVE_COST, SEND_COST};
use crate::memory::{self, Account, Budget};
use crate::{Engine, Exit, LinkError, Message, NameError, Pid, Platform, ProcStats, SendError, SpawnError, SpawnOpts};
use alloc::boxed::Box;
use core::sync::atomic::{AtomicU64, Ordering};
use zbeam_mailbox::Mailbox;
use zbeam_sched::{CoreId, CpuSet, ExitReason, OutReason, Priority};

/// What a native task asks for after one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeStep {
    /// Run again later (its slice is used up).
    Yield,
    /// Wait for a message, or until `until` (ms) if given.
    Wait {
        /// Absolute deadline in ms.
        until: Option<u64>,
    },
    /// Finished with this exit code (0 = normal).
    Exit(u32),
}

/// A native cooperative task: kernel services and test drivers run as processes
/// under the same scheduler, as BEAM's system tasks do.
pub trait NativeTask: Send {
    /// Runs until it must wait or has used its slice; `cx.used` counts reductions.
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep;
    /// The name `ps` and traces show for it.
    fn name(&self) -> &'static str {
        "native"
    }
}

/// What a native task can do during its step: the engine's calls made as this task
/// (its pid filled in, their reductions counted). The engine is held with its
/// platform as a trait object, so tasks are not generic over the platform.
pub struct NativeCx<'a> {
    engine: &'a Engine<dyn Platform + 'a>,
    mailbox: &'a Mailbox<Message>,
    taken: &'a AtomicU64,
    account: &'a Account,
    budget: &'a Budget,
    pid: Pid,
    core: CoreId,
    /// Reductions used so far in this step (add to it for work done).
    pub used: u64,
}

impl NativeCx<'_> {
    /// Own pid.
    pub fn pid(&self) -> Pid {
        self.pid
    }
    /// The core running this step.
    pub fn core(&self) -> CoreId {
        self.core
    }
    /// Time in ms.
    pub fn now_ms(&self) -> u64 {
        self.engine.platform().now_ms()
    }
    /// Time in µs, on the same clock (for measuring, see [`Platform::now_us`]).
    pub fn now_us(&self) -> u64 {
        self.engine.platform().now_us()
    }
    /// Takes the next message, if any.
    pub fn receive(&mut self) -> Option<Message> {
        self.used += RECEIVE_COST;
        let msg = self.inbox().and_then(|mut c| c.pop());
        self.took(msg.as_ref());
        msg
    }
    /// Gives a received message's payload buffer (if it has one) back to this core's
    /// byte pool, for the next sends on the core. A message simply dropped gives its
    /// buffer to the heap instead.
    pub fn recycle(&self, msg: Message) {
        msg.data.recycle(&self.engine.bufs, self.engine.core_index(Some(self.core)));
    }
    /// The task's inbox (None if its consumer handle is out, which it never is while
    /// the task runs).
    fn inbox(&self) -> Option<crate::inbox::Inbox<'_>> {
        crate::inbox::Inbox::open(self.mailbox, &self.engine.nodes, self.engine.core_index(Some(self.core)), self.pid)
    }
    /// Counts a message taken from the mailbox and returns its charge.
    fn took(&self, msg: Option<&Message>) {
        if let Some(m) = msg {
            // Relaxed: a statistic (queue length for `ps`).
            self.taken.fetch_add(1, Ordering::Relaxed);
            self.account.uncharge_message(memory::message_bytes(m.data.len()), self.budget, Some(self.core.index()));
        }
    }
    /// Sends a message.
    pub fn send(&mut self, to: Pid, data: &[u8]) -> Result<(), SendError> {
        self.used += SEND_COST;
        self.engine.send_on(Some(self.core), self.pid, to, crate::abi::tag::PLAIN, data)
    }
    /// Spawns a Z80 process from image number `image`.
    pub fn spawn(&mut self, image: usize, args: &[u8], prio: Priority, affinity: CpuSet) -> Result<Pid, SpawnError> {
        self.spawn_opts(image, args, SpawnOpts::new(prio, affinity)).map(|(p, _)| p)
    }
    /// Spawns another native task.
    pub fn spawn_native(
        &mut self,
        task: Box<dyn NativeTask>,
        prio: Priority,
        affinity: CpuSet,
    ) -> Result<Pid, SpawnError> {
        self.used += CALL_COST;
        self.engine.spawn_native_opts(task, SpawnOpts::new(prio, affinity), self.pid, self.core).map(|(p, _)| p)
    }
    /// Statistics of another live process.
    pub fn proc_stats(&self, pid: Pid) -> Option<ProcStats> {
        self.engine.proc_stats(pid)
    }
    /// Asks a process to exit.
    pub fn kill(&mut self, pid: Pid) -> bool {
        self.used += CALL_COST;
        self.engine.kill(pid)
    }
    /// Writes to the console.
    pub fn console(&self, bytes: &[u8]) {
        self.engine.platform().console(bytes)
    }
    /// Takes the oldest message whose tag is `tag` (any tag with `None`); messages it
    /// skips stay queued in order (selective receive).
    pub fn receive_tagged(&mut self, tag: Option<u8>) -> Option<Message> {
        self.used += RECEIVE_COST;
        let msg = self.inbox().and_then(|mut c| c.take_first(|m| tag.is_none_or(|t| m.tag == t)));
        self.took(msg.as_ref());
        msg
    }
    /// Sends a message with a tag (any tag, system tags included).
    pub fn send_tagged(&mut self, to: Pid, tag: u8, data: &[u8]) -> Result<(), SendError> {
        self.used += SEND_COST;
        self.engine.send_on(Some(self.core), self.pid, to, tag, data)
    }
    /// Spawns a Z80 process with `opts` (link and monitor are made before it runs);
    /// returns its pid and the monitor reference (0 without one).
    pub fn spawn_opts(&mut self, image: usize, args: &[u8], opts: SpawnOpts) -> Result<(Pid, u16), SpawnError> {
        self.used += CALL_COST;
        self.engine.spawn_image_opts(image, args, opts, self.pid, self.core)
    }
    /// Links to `pid` (NOPROC comes as an exit signal if it is dead).
    pub fn link(&mut self, pid: Pid) -> Result<(), LinkError> {
        self.used += CALL_COST;
        self.engine.link(self.pid, pid)
    }
    /// Removes the link to `pid`.
    pub fn unlink(&mut self, pid: Pid) -> Result<(), LinkError> {
        self.used += CALL_COST;
        self.engine.unlink(self.pid, pid)
    }
    /// Monitors `pid`; returns the reference its DOWN message will carry.
    pub fn monitor(&mut self, pid: Pid) -> Result<u16, LinkError> {
        self.used += CALL_COST;
        self.engine.monitor(self.pid, pid)
    }
    /// Ends a monitor (a DOWN already queued for it is removed).
    pub fn demonitor(&mut self, mref: u16) -> bool {
        self.used += CALL_COST;
        self.engine.demonitor(self.pid, mref)
    }
    /// Sets whether this task traps exits; returns the previous setting.
    pub fn trap_exit(&mut self, on: bool) -> bool {
        self.used += CALL_COST;
        self.engine.set_trap_exit(self.pid, on).unwrap_or(false)
    }
    /// Sends an exit signal with `reason` to `pid` (see [`Engine::exit_signal`]).
    pub fn exit_signal(&mut self, pid: Pid, reason: u16) -> Result<(), LinkError> {
        self.used += CALL_COST;
        self.engine.exit_signal(self.pid, pid, reason)
    }
    /// Registers `name` for this task.
    pub fn register(&mut self, name: &[u8]) -> Result<(), NameError> {
        self.used += CALL_COST;
        self.engine.register(name, self.pid)
    }
    /// The pid registered under `name`.
    pub fn whereis(&self, name: &[u8]) -> Option<Pid> {
        self.engine.whereis(name)
    }
    /// Whether `pid` names a live process.
    pub fn is_live(&self, pid: Pid) -> bool {
        self.engine.is_live(pid)
    }
    /// How the last process in slot `pid` ended (None while it lives).
    pub fn last_exit(&self, pid: Pid) -> Option<Exit> {
        self.engine.last_exit(pid)
    }
    /// Feeds console input to the engine (see [`Engine::console_input`]).
    pub fn console_input(&self, bytes: &[u8]) -> usize {
        self.engine.console_input(bytes)
    }
    /// Makes `pid` the foreground console reader (see [`Engine::set_console_reader`]).
    pub fn set_console_reader(&self, pid: Pid) {
        self.engine.set_console_reader(pid)
    }
}

/// Runs `task` for one step and turns what it asks for into the slice's end.
pub(super) fn run<P: Platform>(task: &mut dyn NativeTask, cx: &mut RunCx<'_, P>) -> Slice {
    let mut ncx = NativeCx {
        engine: cx.engine,
        mailbox: cx.mailbox,
        taken: cx.taken,
        account: cx.account,
        budget: cx.budget(),
        pid: cx.pid,
        core: cx.core,
        used: 0,
    };
    let step = task.step(&mut ncx);
    let used = ncx.used.max(1);
    match step {
        NativeStep::Yield => Slice { used, reason: OutReason::Yielded, wait_gen: None },
        NativeStep::Wait { until } => {
            // Every native wait is a new wait: bumping the generation makes the timers
            // of earlier waits stale, so they cannot wake it early.
            let gen = cx.wait.next();
            Slice { used, reason: OutReason::Waiting { timeout: until }, wait_gen: until.map(|_| gen) }
        }
        NativeStep::Exit(0) => Slice { used, reason: OutReason::Exited(ExitReason::Normal), wait_gen: None },
        NativeStep::Exit(c) => Slice { used, reason: OutReason::Exited(ExitReason::Other(c)), wait_gen: None },
    }
}
