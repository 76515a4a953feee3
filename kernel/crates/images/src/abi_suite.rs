//! The system-interface test suite: scripted cases in which `probe` processes make
//! real `RST 30h` calls (every function and every bad argument), and supervision
//! cases with `crasher` children. One native task ([`Suite`]) runs the cases in
//! order and publishes a result per case; the host test
//! (`tests/abi.rs`, deterministic driver) and the kernel's `test=abi` /
//! `test=supervise` (QEMU) run the same cases.
//!
//! A case is a list of [`CaseStep`]s. The suite traps exits, so exit signals from the
//! processes of a case reach it as messages and never kill it. After each case it
//! kills what is left, waits for the exits to settle and empties its mailbox.

use crate::slot::ResultSlot;
use crate::{CRASHER, PROBE};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use spin::Mutex;
use zbeam_engine::abi::{func, reason, status, tag, INFINITY};
use zbeam_engine::supervisor::{ChildSpec, Intensity, Restart, Strategy, Supervisor, SupervisorReport};
use zbeam_engine::{Exit, NativeCx, NativeStep, NativeTask, Pid};
use zbeam_sched::{CpuSet, Priority};

/// Tag of the commands `probe` waits for.
pub const CMD_TAG: u8 = 0x50;
/// Where `probe` copies a command's data.
pub const SCRATCH: u16 = 0x8000;
/// Longest any step may take.
const STEP_TIMEOUT_MS: u64 = 5000;
/// Processes a case may name.
const PROCS: usize = 8;

/// A register value or expected value in a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V {
    /// This value.
    Lit(u16),
    /// The pid of the case's process k.
    Pid(usize),
    /// The suite's own pid.
    Me,
    /// A value saved by an earlier step (its low 16 bits: a reference, a count).
    Saved(usize),
    /// A pid saved by an earlier step (all 32 bits).
    SavedPid(usize),
}

impl V {
    /// Whether the value is a pid: 32 bits, passed in DE and IY, compared with the
    /// IY half of a result, and 4 bytes in messages and memory.
    fn is_pid(self) -> bool {
        matches!(self, V::Pid(_) | V::Me | V::SavedPid(_))
    }
}

/// One call made by probe `k`, and what its reply must show.
#[derive(Clone, Debug)]
pub struct CallStep {
    k: usize,
    op: u8,
    a: u8,
    regs: [V; 4],
    data: Vec<u8>,
    want: u8,
    bc_is: Option<V>,
    de_is: Option<V>,
    hl_is: Option<V>,
    scratch: Vec<V>,
    save_hl: Option<usize>,
    save_de: Option<usize>,
}

/// Probe `k` calls function `f`; by default every register is 0 and A must be OK.
pub fn call(k: usize, f: u8) -> CallStep {
    CallStep {
        k,
        op: 0,
        a: f,
        regs: [V::Lit(0); 4],
        data: Vec::new(),
        want: status::OK,
        bc_is: None,
        de_is: None,
        hl_is: None,
        scratch: Vec::new(),
        save_hl: None,
        save_de: None,
    }
}

impl CallStep {
    /// BC.
    pub fn bc(mut self, v: V) -> Self {
        self.regs[0] = v;
        self
    }
    /// DE.
    pub fn de(mut self, v: V) -> Self {
        self.regs[1] = v;
        self
    }
    /// HL.
    pub fn hl(mut self, v: V) -> Self {
        self.regs[2] = v;
        self
    }
    /// IX.
    pub fn ix(mut self, v: V) -> Self {
        self.regs[3] = v;
        self
    }
    /// Bytes copied to [`SCRATCH`] before the call.
    pub fn data(mut self, d: &[u8]) -> Self {
        self.data = d.to_vec();
        self
    }
    /// The status A must hold.
    pub fn want(mut self, s: u8) -> Self {
        self.want = s;
        self
    }
    /// BC must equal.
    pub fn bc_is(mut self, v: V) -> Self {
        self.bc_is = Some(v);
        self
    }
    /// DE must equal.
    pub fn de_is(mut self, v: V) -> Self {
        self.de_is = Some(v);
        self
    }
    /// HL must equal.
    pub fn hl_is(mut self, v: V) -> Self {
        self.hl_is = Some(v);
        self
    }
    /// The first words of [`SCRATCH`] after the call must equal.
    pub fn scratch(mut self, words: &[V]) -> Self {
        self.scratch = words.to_vec();
        self
    }
    /// Saves HL as value `i`.
    pub fn save_hl(mut self, i: usize) -> Self {
        self.save_hl = Some(i);
        self
    }
    /// Saves DE as value `i`.
    pub fn save_de(mut self, i: usize) -> Self {
        self.save_de = Some(i);
        self
    }
    /// Send the command and check the reply.
    pub fn go(self) -> CaseStep {
        CaseStep::Call(Box::new(self))
    }
    /// Only send the command (a call that does not return, or returns later).
    pub fn start(self) -> CaseStep {
        CaseStep::Start(Box::new(self))
    }
    /// Only check the reply of an earlier [`CallStep::start`].
    pub fn reply(self) -> CaseStep {
        CaseStep::Reply(Box::new(self))
    }
}

/// One step of a case.
#[derive(Clone, Debug)]
pub enum CaseStep {
    /// Spawns process k from `probe`.
    Probe(usize),
    /// Makes process k the pid saved as value i.
    Adopt(usize, usize),
    /// A call and its reply.
    Call(Box<CallStep>),
    /// A call's command only.
    Start(Box<CallStep>),
    /// A call's reply only.
    Reply(Box<CallStep>),
    /// Probe k executes DI; HALT.
    Halt(usize),
    /// Probe k returns from its top level (a normal exit).
    Return(usize),
    /// The suite sends (tag, data) to process k.
    Send(usize, u8, Vec<u8>),
    /// The suite sends an exit signal with this reason to process k.
    Signal(usize, u16),
    /// Process k must end with this exit.
    Exits(usize, Exit),
    /// The suite must receive a message with this tag and these data words.
    Expect(u8, Vec<V>),
    /// Waits this many ms.
    Sleep(u64),
    /// Makes process k the console reader.
    Reader(usize),
    /// Feeds console input.
    Input(&'static [u8]),
    /// Starts a supervisor as process k, linked to the suite.
    Supervise(usize, Strategy, Intensity, Vec<ChildSpec>),
    /// Supervisor k has done at least n restarts (waits for it).
    Restarts(usize, u32),
    /// Supervisor k's report: exactly n restarts, and which children run.
    Report(usize, u32, Vec<bool>),
    /// Process j is supervisor k's child i (waits until it runs).
    Child(usize, usize, usize),
    /// Processes i and j differ.
    Differ(usize, usize),
}

/// A named list of steps.
#[derive(Clone, Debug)]
pub struct Case {
    /// Name printed with the result.
    pub name: &'static str,
    /// What it does.
    pub steps: Vec<CaseStep>,
}

/// The result of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's name.
    pub name: &'static str,
    /// None if it passed, else what went wrong.
    pub error: Option<String>,
}

enum Progress {
    Done,
    Pending,
    Fail(String),
}

enum Phase {
    Run,
    /// Killing what the case left; then drain and go on.
    Settle(u64),
}

/// Runs cases one after another.
pub struct Suite {
    cases: Vec<Case>,
    ci: usize,
    si: usize,
    phase: Phase,
    started: bool,
    step_started: bool,
    deadline: u64,
    procs: [Pid; PROCS],
    saved: [u32; PROCS],
    sups: Vec<(usize, Arc<Mutex<SupervisorReport>>)>,
    error: Option<String>,
    results: Vec<CaseResult>,
    out: ResultSlot<Vec<CaseResult>>,
}

impl Suite {
    /// A suite of `cases`; read the results from the returned slot.
    pub fn new(cases: Vec<Case>) -> (Box<Self>, ResultSlot<Vec<CaseResult>>) {
        let out = ResultSlot::new();
        let s = Suite {
            cases,
            ci: 0,
            si: 0,
            phase: Phase::Run,
            started: false,
            step_started: false,
            deadline: 0,
            procs: [Pid::KERNEL; PROCS],
            saved: [0; PROCS],
            sups: Vec::new(),
            error: None,
            results: Vec::new(),
            out: out.clone(),
        };
        (Box::new(s), out)
    }

    fn val(&self, cx: &NativeCx<'_>, v: V) -> u32 {
        match v {
            V::Lit(x) => x as u32,
            V::Pid(k) => self.procs[k].get(),
            V::Me => cx.pid().get(),
            V::Saved(i) => self.saved[i] & 0xffff,
            V::SavedPid(i) => self.saved[i],
        }
    }

    /// `v` as it is laid out in memory and messages (4 bytes for a pid, else 2).
    fn bytes(&self, cx: &NativeCx<'_>, v: V) -> Vec<u8> {
        let x = self.val(cx, v);
        if v.is_pid() {
            x.to_le_bytes().to_vec()
        } else {
            (x as u16).to_le_bytes().to_vec()
        }
    }

    fn send_cmd(&self, cx: &mut NativeCx<'_>, c: &CallStep) -> Result<(), String> {
        let mut cmd = vec![c.op, c.a];
        for r in c.regs {
            cmd.extend_from_slice(&(self.val(cx, r) as u16).to_le_bytes());
        }
        // IY: the high half of a pid in DE.
        cmd.extend_from_slice(&((self.val(cx, c.regs[1]) >> 16) as u16).to_le_bytes());
        cmd.push(c.data.len() as u8);
        cmd.extend_from_slice(&c.data);
        cx.send_tagged(self.procs[c.k], CMD_TAG, &cmd).map_err(|e| format!("command to process {}: {e:?}", c.k))
    }

    fn check_reply(&mut self, cx: &mut NativeCx<'_>, c: &CallStep) -> Progress {
        let Some(m) = cx.receive_tagged(Some(tag::PLAIN)) else { return Progress::Pending };
        if m.from != self.procs[c.k] || m.data.len() != 25 {
            return Progress::Fail(format!("unexpected message from {} ({} bytes)", m.from, m.data.len()));
        }
        let d = &m.data;
        let w = |i: usize| u16::from_le_bytes([d[i], d[i + 1]]) as u32;
        let (bc, de, hl, iy) = (w(1), w(3), w(5), w(7));
        let what = format!("call {} by process {}: A={} BC={bc:#x} DE={de:#x} HL={hl:#x} IY={iy:#x}", c.a, c.k, d[0]);
        if d[0] != c.want {
            return Progress::Fail(format!("{what}, want A={}", c.want));
        }
        for (name, got, want) in [("BC", bc, c.bc_is), ("DE", de, c.de_is), ("HL", hl, c.hl_is)] {
            if let Some(v) = want {
                // A pid comes back whole: the register's half and IY's.
                let got = if v.is_pid() { got | iy << 16 } else { got };
                let v = self.val(cx, v);
                if got != v {
                    return Progress::Fail(format!("{what}, want {name}={v:#x}"));
                }
            }
        }
        let want: Vec<u8> = c.scratch.iter().flat_map(|&v| self.bytes(cx, v)).collect();
        if d[9..9 + want.len()] != want[..] {
            return Progress::Fail(format!("{what}: scratch is {:x?}, want {want:x?}", &d[9..9 + want.len()]));
        }
        if let Some(i) = c.save_hl {
            self.saved[i] = hl | iy << 16;
        }
        if let Some(i) = c.save_de {
            self.saved[i] = de | iy << 16;
        }
        Progress::Done
    }

    fn report(&self, k: usize) -> Option<SupervisorReport> {
        self.sups.iter().find(|(kk, _)| *kk == k).map(|(_, r)| r.lock().clone())
    }

    fn step(&mut self, cx: &mut NativeCx<'_>, step: &CaseStep) -> Progress {
        let first = !self.step_started;
        self.step_started = true;
        match step {
            CaseStep::Probe(k) => match cx.spawn(PROBE, &[], Priority::Normal, CpuSet::ALL) {
                Ok(p) => {
                    self.procs[*k] = p;
                    Progress::Done
                }
                Err(e) => Progress::Fail(format!("spawn probe: {e:?}")),
            },
            CaseStep::Adopt(k, i) => {
                self.procs[*k] = Pid::from_raw(self.saved[*i]);
                Progress::Done
            }
            CaseStep::Call(c) | CaseStep::Start(c) | CaseStep::Reply(c) => {
                if first && !matches!(step, CaseStep::Reply(_)) {
                    if let Err(e) = self.send_cmd(cx, c) {
                        return Progress::Fail(e);
                    }
                }
                if matches!(step, CaseStep::Start(_)) {
                    return Progress::Done;
                }
                self.check_reply(cx, c)
            }
            CaseStep::Halt(k) | CaseStep::Return(k) => {
                let op = if matches!(step, CaseStep::Halt(_)) { 1 } else { 2 };
                match cx.send_tagged(self.procs[*k], CMD_TAG, &[op, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) {
                    Ok(()) => Progress::Done,
                    Err(e) => Progress::Fail(format!("command to process {k}: {e:?}")),
                }
            }
            CaseStep::Send(k, t, d) => match cx.send_tagged(self.procs[*k], *t, d) {
                Ok(()) => Progress::Done,
                Err(e) => Progress::Fail(format!("send to process {k}: {e:?}")),
            },
            CaseStep::Signal(k, r) => match cx.exit_signal(self.procs[*k], *r) {
                Ok(()) => Progress::Done,
                Err(e) => Progress::Fail(format!("signal to process {k}: {e:?}")),
            },
            CaseStep::Exits(k, want) => {
                let pid = self.procs[*k];
                if cx.is_live(pid) {
                    return Progress::Pending;
                }
                match cx.last_exit(pid) {
                    Some(got) if got == *want => Progress::Done,
                    Some(got) => Progress::Fail(format!("process {k} (pid {pid}) ended {got:?}, want {want:?}")),
                    None => Progress::Pending,
                }
            }
            CaseStep::Expect(t, words) => {
                let Some(m) = cx.receive_tagged(Some(*t)) else { return Progress::Pending };
                let want: Vec<u8> = words.iter().flat_map(|&v| self.bytes(cx, v)).collect();
                if *m.data == want[..] {
                    Progress::Done
                } else {
                    Progress::Fail(format!("message tag {t:#x} from {}: {:?}, want {want:?}", m.from, m.data))
                }
            }
            CaseStep::Sleep(ms) => {
                if first {
                    self.deadline = cx.now_ms() + ms;
                }
                if cx.now_ms() >= self.deadline {
                    Progress::Done
                } else {
                    Progress::Pending
                }
            }
            CaseStep::Reader(k) => {
                cx.set_console_reader(self.procs[*k]);
                Progress::Done
            }
            CaseStep::Input(b) => {
                if cx.console_input(b) == b.len() {
                    Progress::Done
                } else {
                    Progress::Fail(String::from("console input queue full"))
                }
            }
            CaseStep::Supervise(k, strategy, intensity, specs) => {
                let (sup, report) = Supervisor::new(*strategy, *intensity, specs.clone());
                match cx.spawn_native(sup, Priority::Normal, CpuSet::ALL) {
                    Ok(p) => {
                        self.procs[*k] = p;
                        self.sups.push((*k, report));
                        match cx.link(p) {
                            Ok(()) => Progress::Done,
                            Err(e) => Progress::Fail(format!("link to supervisor: {e:?}")),
                        }
                    }
                    Err(e) => Progress::Fail(format!("spawn supervisor: {e:?}")),
                }
            }
            CaseStep::Restarts(k, n) => match self.report(*k) {
                Some(r) if r.restarts >= *n => Progress::Done,
                Some(_) => Progress::Pending,
                None => Progress::Fail(format!("process {k} is no supervisor")),
            },
            CaseStep::Report(k, n, running) => match self.report(*k) {
                Some(r) => {
                    let now: Vec<bool> = r.children.iter().map(|&p| p.is_some_and(|p| cx.is_live(p))).collect();
                    if r.restarts == *n && now == *running {
                        Progress::Done
                    } else {
                        Progress::Fail(format!(
                            "supervisor {k}: {r:?}, running {now:?}; want {n} restarts, {running:?}"
                        ))
                    }
                }
                None => Progress::Fail(format!("process {k} is no supervisor")),
            },
            CaseStep::Child(j, k, i) => match self.report(*k) {
                Some(r) if r.children.get(*i).is_some_and(|&p| p.is_some_and(|p| cx.is_live(p))) => {
                    self.procs[*j] = r.children[*i].unwrap_or(Pid::KERNEL);
                    Progress::Done
                }
                Some(_) => Progress::Pending,
                None => Progress::Fail(format!("process {k} is no supervisor")),
            },
            CaseStep::Differ(i, j) => {
                if self.procs[*i] != self.procs[*j] {
                    Progress::Done
                } else {
                    Progress::Fail(format!("processes {i} and {j} are both pid {}", self.procs[*i]))
                }
            }
        }
    }

    fn end_case(&mut self, cx: &mut NativeCx<'_>, error: Option<String>) {
        self.error = error;
        cx.set_console_reader(Pid::KERNEL);
        for &p in &self.procs {
            if p != Pid::KERNEL {
                cx.kill(p);
            }
        }
        self.phase = Phase::Settle(cx.now_ms() + 20);
    }
}

impl NativeTask for Suite {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        if !self.started {
            self.started = true;
            cx.trap_exit(true);
        }
        loop {
            let now = cx.now_ms();
            if let Phase::Settle(until) = self.phase {
                let busy = self.procs.iter().any(|&p| p != Pid::KERNEL && cx.is_live(p));
                if busy || now < until {
                    return NativeStep::Wait { until: Some(now + 2) };
                }
                while cx.receive_tagged(None).is_some() {}
                let name = self.cases[self.ci].name;
                self.results.push(CaseResult { name, error: self.error.take() });
                self.ci += 1;
                self.si = 0;
                self.procs = [Pid::KERNEL; PROCS];
                self.saved = [0; PROCS];
                self.sups.clear();
                self.phase = Phase::Run;
                continue;
            }
            let Some(case) = self.cases.get(self.ci) else {
                self.out.fill(core::mem::take(&mut self.results));
                return NativeStep::Exit(0);
            };
            let Some(step) = case.steps.get(self.si).cloned() else {
                self.end_case(cx, None);
                continue;
            };
            if !self.step_started {
                self.deadline = now + STEP_TIMEOUT_MS;
            }
            let timeout = if matches!(step, CaseStep::Sleep(_)) { u64::MAX } else { self.deadline };
            match self.step(cx, &step) {
                Progress::Done => {
                    self.si += 1;
                    self.step_started = false;
                }
                Progress::Fail(e) => {
                    self.step_started = false;
                    self.end_case(cx, Some(format!("step {}: {e}", self.si)));
                }
                Progress::Pending if now >= timeout => {
                    self.step_started = false;
                    self.end_case(
                        cx,
                        Some(format!("step {}: no progress in {STEP_TIMEOUT_MS} ms ({step:?})", self.si)),
                    );
                }
                Progress::Pending => return NativeStep::Wait { until: Some(now + 2) },
            }
        }
    }

    fn name(&self) -> &'static str {
        "abi-suite"
    }
}

fn lit(x: u16) -> V {
    V::Lit(x)
}

fn probes(n: usize) -> Vec<CaseStep> {
    (0..n).map(CaseStep::Probe).collect()
}

fn case(name: &'static str, mut setup: Vec<CaseStep>, steps: Vec<CaseStep>) -> Case {
    setup.extend(steps);
    Case { name, steps: setup }
}

/// A dead pid as process `k`: a probe spawned and ended normally.
fn dead(k: usize) -> Vec<CaseStep> {
    vec![CaseStep::Probe(k), CaseStep::Return(k), CaseStep::Exits(k, Exit::Normal)]
}

const S: V = V::Lit(SCRATCH);

/// Every system call, with every bad argument it checks.
pub fn abi_cases() -> Vec<Case> {
    use func::*;
    use status::*;
    let mut all = vec![
        case("self", probes(1), vec![call(0, SELF).hl_is(V::Pid(0)).go()]),
        case(
            "send-receive",
            probes(2),
            vec![
                call(0, SEND).de(V::Pid(1)).hl(S).bc(lit(3)).data(b"abc").go(),
                call(1, RECEIVE)
                    .de(S)
                    .bc(lit(16))
                    .hl(lit(0))
                    .data(b"\0\0\0\0")
                    .bc_is(lit(3))
                    .de_is(V::Pid(0))
                    .scratch(&[lit(0x6261), lit(0x0063)])
                    .go(),
            ],
        ),
        case(
            "send-bad-input",
            [probes(1), dead(1)].concat(),
            vec![
                call(0, SEND).de(lit(0xfff0)).hl(S).bc(lit(1)).want(BAD_PID).go(),
                call(0, SEND).de(lit(0)).hl(S).bc(lit(1)).want(BAD_PID).go(),
                call(0, SEND).de(V::Pid(1)).hl(S).bc(lit(1)).want(BAD_PID).go(),
                call(0, SEND).de(V::Me).hl(S).bc(lit(1025)).want(TOO_BIG).go(),
                call(0, SEND).de(V::Me).hl(lit(0xfff0)).bc(lit(32)).want(BAD_BUFFER).go(),
                call(0, SELF).hl_is(V::Pid(0)).go(),
            ],
        ),
        case(
            "receive-timeout-truncate-bad-buffer",
            probes(1),
            vec![
                call(0, RECEIVE).de(S).bc(lit(4)).hl(lit(0)).want(TIMEOUT).go(),
                call(0, RECEIVE).de(S).bc(lit(4)).hl(lit(20)).want(TIMEOUT).go(),
                call(0, RECEIVE).de(lit(0xffff)).bc(lit(2)).hl(lit(0)).want(BAD_BUFFER).go(),
                CaseStep::Send(0, 0, b"0123456789".to_vec()),
                call(0, RECEIVE).de(S).bc(lit(4)).hl(lit(0)).want(TRUNCATED).bc_is(lit(10)).de_is(V::Me).go(),
            ],
        ),
        case(
            "spawn",
            probes(1),
            vec![
                call(0, SPAWN).de(lit(PROBE as u16)).hl(S).bc(lit(2)).data(b"xy").save_hl(0).go(),
                CaseStep::Adopt(1, 0),
                call(1, SELF).hl_is(V::SavedPid(0)).go(),
                call(0, SPAWN).de(lit(999)).hl(S).bc(lit(0)).want(BAD_IMAGE).go(),
                call(0, SPAWN).de(lit(PROBE as u16)).hl(S).bc(lit(128)).want(TOO_BIG).go(),
                call(0, SPAWN).de(lit(PROBE as u16)).hl(lit(0xffc0)).bc(lit(127)).want(BAD_BUFFER).go(),
            ],
        ),
        case(
            "yield-sleep-time-write",
            probes(1),
            vec![
                call(0, YIELD).go(),
                call(0, SLEEP).hl(lit(5)).go(),
                call(0, TIME).go(),
                call(0, WRITE).hl(S).bc(lit(14)).data(b"probe: WRITE\r\n").go(),
                call(0, WRITE).hl(lit(0xfff0)).bc(lit(17)).want(BAD_BUFFER).go(),
            ],
        ),
    ];
    all.extend(spawn_opt_cases());
    all.extend(vec![
        case(
            "tags-selective-receive",
            probes(2),
            vec![
                call(0, SEND_TAG).de(V::Pid(1)).hl(S).bc(lit(2)).ix(lit(0x10)).data(b"t1").go(),
                call(0, SEND_TAG).de(V::Pid(1)).hl(S).bc(lit(2)).ix(lit(0xf0)).want(BAD_ARG).go(),
                call(0, SEND_TAG).de(V::Pid(1)).hl(S).bc(lit(1025)).ix(lit(1)).want(TOO_BIG).go(),
                call(0, SEND_TAG).de(lit(0)).hl(S).bc(lit(1)).ix(lit(1)).want(BAD_PID).go(),
                call(1, RECV_TAG).de(S).bc(lit(8)).hl(lit(0)).ix(lit(0x11)).want(TIMEOUT).go(),
                CaseStep::Send(1, 0x12, b"s".to_vec()),
                call(1, RECV_TAG).de(S).bc(lit(8)).hl(lit(0)).ix(lit(0x12)).hl_is(lit(0x12)).de_is(V::Me).go(),
                call(1, RECEIVE).de(S).bc(lit(8)).hl(lit(0)).de_is(V::Pid(0)).bc_is(lit(2)).go(),
                call(1, RECV_TAG).de(S).bc(lit(8)).hl(lit(0)).ix(lit(0x1234)).want(BAD_ARG).go(),
                call(1, RECV_TAG).de(lit(0xfffe)).bc(lit(8)).hl(lit(0)).ix(lit(0xffff)).want(BAD_BUFFER).go(),
                call(1, RECV_TAG).de(S).bc(lit(8)).hl(lit(10)).ix(lit(0xffff)).want(TIMEOUT).go(),
            ],
        ),
        case(
            "link-trap-exit-gets-reason",
            probes(2),
            vec![
                call(0, TRAP_EXIT).de(lit(1)).de_is(lit(0)).go(),
                call(0, LINK).de(V::Pid(1)).go(),
                CaseStep::Halt(1),
                CaseStep::Exits(1, Exit::Fault(1)),
                call(0, RECV_TAG)
                    .de(S)
                    .bc(lit(8))
                    .hl(lit(2000))
                    .ix(lit(0xff))
                    .de_is(V::Pid(1))
                    .hl_is(lit(0xff))
                    .scratch(&[V::Pid(1), lit(reason::FAULT | 1)])
                    .go(),
                call(0, SELF).go(),
            ],
        ),
        case(
            "link-propagates-crash",
            probes(3),
            vec![
                call(2, TRAP_EXIT).de(lit(1)).go(),
                call(2, LINK).de(V::Pid(0)).go(),
                call(0, LINK).de(V::Pid(1)).go(),
                CaseStep::Halt(1),
                CaseStep::Exits(1, Exit::Fault(1)),
                CaseStep::Exits(0, Exit::Fault(1)),
                call(2, RECV_TAG).de(S).bc(lit(8)).hl(lit(2000)).ix(lit(0xff)).scratch(&[V::Pid(0), lit(0x8101)]).go(),
            ],
        ),
        case(
            "link-normal-exit-ignored-unlink",
            probes(3),
            vec![
                call(0, LINK).de(V::Pid(1)).go(),
                CaseStep::Return(1),
                CaseStep::Exits(1, Exit::Normal),
                call(0, SELF).go(),
                call(0, LINK).de(V::Pid(2)).go(),
                call(0, UNLINK).de(V::Pid(2)).go(),
                CaseStep::Halt(2),
                CaseStep::Exits(2, Exit::Fault(1)),
                call(0, SELF).go(),
                call(0, UNLINK).de(lit(0)).want(BAD_PID).go(),
            ],
        ),
        case(
            "link-dead-pid-noproc",
            [probes(2), dead(2)].concat(),
            vec![
                call(0, LINK).de(lit(0)).want(BAD_PID).go(),
                call(0, LINK).de(lit(0xffff)).want(BAD_PID).go(),
                call(0, TRAP_EXIT).de(lit(1)).go(),
                call(0, LINK).de(V::Pid(2)).go(),
                call(0, RECV_TAG).de(S).bc(lit(8)).hl(lit(2000)).ix(lit(0xff)).scratch(&[V::Pid(2), lit(0x8002)]).go(),
                call(1, LINK).de(V::Pid(2)).start(),
                CaseStep::Exits(1, Exit::NoProc),
            ],
        ),
        case(
            "monitor-down-noproc",
            [probes(2), dead(2)].concat(),
            vec![
                call(0, MONITOR).de(V::Pid(1)).save_hl(0).go(),
                CaseStep::Halt(1),
                CaseStep::Exits(1, Exit::Fault(1)),
                call(0, RECV_TAG)
                    .de(S)
                    .bc(lit(8))
                    .hl(lit(2000))
                    .ix(lit(0xfe))
                    .bc_is(lit(8))
                    .scratch(&[V::Saved(0), V::Pid(1), lit(0x8101)])
                    .go(),
                call(0, MONITOR).de(V::Pid(2)).save_hl(1).go(),
                call(0, RECV_TAG)
                    .de(S)
                    .bc(lit(8))
                    .hl(lit(2000))
                    .ix(lit(0xfe))
                    .scratch(&[V::Saved(1), V::Pid(2), lit(0x8002)])
                    .go(),
                call(0, MONITOR).de(lit(0)).want(BAD_PID).go(),
                call(0, MONITOR).de(lit(0xfffe)).want(BAD_PID).go(),
            ],
        ),
        case(
            "demonitor-and-flush",
            probes(3),
            vec![
                call(0, MONITOR).de(V::Pid(1)).save_hl(0).go(),
                call(0, DEMONITOR).de(V::Saved(0)).go(),
                call(0, DEMONITOR).de(V::Saved(0)).want(NOT_FOUND).go(),
                CaseStep::Halt(1),
                CaseStep::Exits(1, Exit::Fault(1)),
                call(0, RECV_TAG).de(S).bc(lit(8)).hl(lit(30)).ix(lit(0xfe)).want(TIMEOUT).go(),
                call(0, MONITOR).de(V::Pid(2)).save_hl(1).go(),
                CaseStep::Return(2),
                CaseStep::Exits(2, Exit::Normal),
                CaseStep::Sleep(10),
                call(0, DEMONITOR).de(V::Saved(1)).go(),
                call(0, RECV_TAG).de(S).bc(lit(8)).hl(lit(0)).ix(lit(0xfe)).want(TIMEOUT).go(),
                call(0, DEMONITOR).de(lit(0x7777)).want(NOT_FOUND).go(),
            ],
        ),
        case(
            "trap-exit-flag",
            probes(1),
            vec![
                call(0, TRAP_EXIT).de(lit(2)).want(BAD_ARG).go(),
                call(0, TRAP_EXIT).de(lit(1)).de_is(lit(0)).go(),
                call(0, TRAP_EXIT).de(lit(0)).de_is(lit(1)).go(),
                call(0, TRAP_EXIT).de(lit(0)).de_is(lit(0)).go(),
            ],
        ),
        case(
            "signal-exit-reason",
            probes(4),
            vec![
                call(0, SIGNAL).de(V::Pid(1)).hl(lit(5)).go(),
                CaseStep::Exits(1, Exit::Code(5)),
                call(2, TRAP_EXIT).de(lit(1)).go(),
                call(0, SIGNAL).de(V::Pid(2)).hl(lit(9)).go(),
                call(2, RECV_TAG).de(S).bc(lit(8)).hl(lit(2000)).ix(lit(0xff)).scratch(&[V::Pid(0), lit(9)]).go(),
                call(0, SIGNAL).de(V::Pid(3)).hl(lit(0)).go(),
                call(3, SELF).go(),
                call(0, SIGNAL).de(lit(0)).hl(lit(1)).want(BAD_PID).go(),
                call(3, EXIT).de(lit(42)).start(),
                CaseStep::Exits(3, Exit::Code(42)),
            ],
        ),
        case(
            "kill-is-untrappable",
            [probes(2), dead(2)].concat(),
            vec![
                call(0, TRAP_EXIT).de(lit(1)).go(),
                call(1, TRAP_EXIT).de(lit(1)).go(),
                call(0, LINK).de(V::Pid(1)).go(),
                call(0, KILL).de(V::Pid(1)).go(),
                CaseStep::Exits(1, Exit::Killed),
                call(0, RECV_TAG).de(S).bc(lit(8)).hl(lit(2000)).ix(lit(0xff)).scratch(&[V::Pid(1), lit(0x8001)]).go(),
                call(0, KILL).de(V::Pid(2)).want(BAD_PID).go(),
                call(0, KILL).de(lit(0)).want(BAD_PID).go(),
            ],
        ),
        case(
            "system-processes-out-of-reach",
            probes(1),
            vec![
                // The suite is a native task, a system process: KILL, LINK and SIGNAL
                // aimed at it answer BAD_PID and do nothing; a message still goes.
                call(0, KILL).de(V::Me).want(BAD_PID).go(),
                call(0, LINK).de(V::Me).want(BAD_PID).go(),
                call(0, SIGNAL).de(V::Me).hl(lit(5)).want(BAD_PID).go(),
                call(0, SIGNAL).de(V::Me).hl(lit(0x8001)).want(BAD_PID).go(),
                call(0, MONITOR).de(V::Me).go(),
                call(0, SEND_TAG).de(V::Me).hl(S).bc(lit(0)).ix(lit(0x33)).go(),
                CaseStep::Expect(0x33, vec![]),
            ],
        ),
        case(
            "register-whereis-unregister",
            probes(2),
            vec![
                call(0, REGISTER).hl(S).bc(lit(5)).data(b"alpha").go(),
                call(1, WHEREIS).hl(S).bc(lit(5)).data(b"alpha").hl_is(V::Pid(0)).go(),
                call(1, REGISTER).hl(S).bc(lit(5)).data(b"alpha").want(NAME_TAKEN).go(),
                call(0, REGISTER).hl(S).bc(lit(4)).data(b"beta").want(NAME_TAKEN).go(),
                call(1, WHEREIS).hl(S).bc(lit(3)).data(b"zzz").want(NOT_FOUND).go(),
                call(1, REGISTER).hl(S).bc(lit(0)).want(BAD_ARG).go(),
                call(1, REGISTER).hl(S).bc(lit(17)).want(BAD_ARG).go(),
                call(1, REGISTER).hl(lit(0xfffe)).bc(lit(5)).want(BAD_BUFFER).go(),
                CaseStep::Return(0),
                CaseStep::Exits(0, Exit::Normal),
                call(1, WHEREIS).hl(S).bc(lit(5)).data(b"alpha").want(NOT_FOUND).go(),
                call(1, REGISTER).hl(S).bc(lit(5)).data(b"alpha").go(),
                call(1, UNREGISTER).hl(S).bc(lit(5)).data(b"alpha").go(),
                call(1, UNREGISTER).hl(S).bc(lit(5)).data(b"alpha").want(NOT_FOUND).go(),
            ],
        ),
        case(
            "console-read",
            probes(2),
            vec![
                call(0, READ).hl(lit(0)).want(TIMEOUT).go(),
                CaseStep::Reader(0),
                CaseStep::Input(b"hi"),
                call(1, READ).hl(lit(0)).want(TIMEOUT).go(),
                call(0, READ).hl(lit(0)).de_is(lit(b'h' as u16)).go(),
                call(0, READ).hl(lit(INFINITY)).de_is(lit(b'i' as u16)).go(),
                call(0, READ).hl(lit(10)).want(TIMEOUT).go(),
                call(0, READ).hl(lit(INFINITY)).start(),
                CaseStep::Sleep(20),
                CaseStep::Input(b"z"),
                call(0, READ).de_is(lit(b'z' as u16)).reply(),
            ],
        ),
        case(
            "unknown-call-faults",
            probes(2),
            vec![
                call(1, TRAP_EXIT).de(lit(1)).go(),
                call(1, LINK).de(V::Pid(0)).go(),
                call(0, 200).start(),
                CaseStep::Exits(0, Exit::Fault(3)),
                call(1, RECV_TAG).de(S).bc(lit(8)).hl(lit(2000)).ix(lit(0xff)).scratch(&[V::Pid(0), lit(0x8103)]).go(),
            ],
        ),
        case("halt-faults", probes(1), vec![CaseStep::Halt(0), CaseStep::Exits(0, Exit::Fault(1))]),
    ]);
    all
}

fn spawn_opt_cases() -> Vec<Case> {
    use func::*;
    use status::*;
    // Options block at SCRATCH: args at SCRATCH+0x20, no args; priority; flags; affinity.
    let opts = |prio: u8, flags: u8, memory: u8, aff: u64| {
        let mut b = vec![0x20, 0x80, 0, prio, flags, memory];
        b.extend_from_slice(&aff.to_le_bytes());
        b
    };
    let p = lit(PROBE as u16);
    vec![
        case(
            "spawn-opt-link-propagates",
            probes(1),
            vec![
                call(0, SPAWN_OPT).de(p).hl(S).data(&opts(3, 1, 0, 1)).save_hl(0).go(),
                CaseStep::Adopt(1, 0),
                call(1, SELF).hl_is(V::SavedPid(0)).go(),
                CaseStep::Halt(1),
                CaseStep::Exits(1, Exit::Fault(1)),
                CaseStep::Exits(0, Exit::Fault(1)),
            ],
        ),
        case(
            "spawn-opt-monitor",
            probes(1),
            vec![
                call(0, SPAWN_OPT).de(p).hl(S).data(&opts(0xff, 2, 0, 0)).save_hl(0).save_de(1).go(),
                CaseStep::Adopt(1, 0),
                CaseStep::Return(1),
                CaseStep::Exits(1, Exit::Normal),
                call(0, RECV_TAG)
                    .de(S)
                    .bc(lit(8))
                    .hl(lit(2000))
                    .ix(lit(0xfe))
                    .scratch(&[V::Saved(1), V::SavedPid(0), lit(0)])
                    .go(),
            ],
        ),
        case(
            "spawn-opt-bad-input",
            probes(1),
            vec![
                call(0, SPAWN_OPT).de(p).hl(S).data(&opts(4, 0, 0, 0)).want(BAD_ARG).go(),
                // Max is reserved for system tasks.
                call(0, SPAWN_OPT).de(p).hl(S).data(&opts(0, 0, 0, 0)).want(BAD_ARG).go(),
                call(0, SPAWN_OPT).de(p).hl(S).data(&opts(2, 0x80, 0, 0)).want(BAD_ARG).go(),
                call(0, SPAWN_OPT).de(p).hl(S).data(&opts(2, 4, 0, 0)).want(BAD_ARG).go(),
                call(0, SPAWN_OPT).de(p).hl(S).data(&opts(2, 0, 0, 1 << 63)).want(BAD_ARG).go(),
                call(0, SPAWN_OPT).de(p).hl(lit(0xfffa)).want(BAD_BUFFER).go(),
                call(0, SPAWN_OPT).de(lit(999)).hl(S).data(&opts(2, 0, 0, 0)).want(BAD_IMAGE).go(),
                call(0, SPAWN_OPT)
                    .de(p)
                    .hl(S)
                    .data(&[0x20, 0x80, 200, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
                    .want(TOO_BIG)
                    .go(),
                call(0, SPAWN_OPT)
                    .de(p)
                    .hl(S)
                    .data(&[0xf0, 0xff, 100, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
                    .want(BAD_BUFFER)
                    .go(),
                call(0, SELF).go(),
            ],
        ),
    ]
}

fn crasher(mode: u8, delay_ms: u16, restart: Restart) -> ChildSpec {
    let d = delay_ms.to_le_bytes();
    ChildSpec { image: CRASHER, args: vec![mode, d[0], d[1]], prio: Priority::Normal, affinity: CpuSet::ALL, restart }
}

/// Supervision: restarts, strategies, restart types and the intensity limit.
pub fn supervise_cases() -> Vec<Case> {
    let lots = Intensity { max_restarts: 100, period_ms: 60_000 };
    vec![
        case(
            "supervisor-restarts-crashed-child",
            vec![],
            vec![
                CaseStep::Supervise(0, Strategy::OneForOne, lots, vec![crasher(2, 0, Restart::Permanent)]),
                CaseStep::Child(1, 0, 0),
                CaseStep::Signal(1, 5),
                CaseStep::Exits(1, Exit::Code(5)),
                CaseStep::Restarts(0, 1),
                CaseStep::Child(2, 0, 0),
                CaseStep::Differ(1, 2),
                CaseStep::Report(0, 1, vec![true]),
            ],
        ),
        case(
            "supervisor-restarts-faulting-child",
            vec![],
            vec![
                CaseStep::Supervise(0, Strategy::OneForOne, lots, vec![crasher(0, 30, Restart::Permanent)]),
                CaseStep::Child(1, 0, 0),
                CaseStep::Exits(1, Exit::Fault(1)),
                CaseStep::Restarts(0, 2),
            ],
        ),
        case(
            "supervisor-intensity-exceeded-stops-it",
            vec![],
            vec![
                CaseStep::Supervise(
                    0,
                    Strategy::OneForOne,
                    Intensity { max_restarts: 3, period_ms: 60_000 },
                    vec![crasher(3, 5, Restart::Permanent)],
                ),
                CaseStep::Exits(0, Exit::Shutdown),
                CaseStep::Expect(tag::EXIT, vec![V::Pid(0), lit(reason::SHUTDOWN)]),
                CaseStep::Report(0, 3, vec![false]),
            ],
        ),
        case(
            "supervisor-one-for-all",
            vec![],
            vec![
                CaseStep::Supervise(
                    0,
                    Strategy::OneForAll,
                    lots,
                    vec![crasher(2, 0, Restart::Permanent), crasher(2, 0, Restart::Permanent)],
                ),
                CaseStep::Child(1, 0, 0),
                CaseStep::Child(2, 0, 1),
                CaseStep::Signal(1, 5),
                CaseStep::Restarts(0, 1),
                CaseStep::Exits(2, Exit::Killed),
                CaseStep::Child(3, 0, 0),
                CaseStep::Child(4, 0, 1),
                CaseStep::Differ(1, 3),
                CaseStep::Differ(2, 4),
            ],
        ),
        case(
            "supervisor-restart-types",
            vec![],
            vec![
                CaseStep::Supervise(
                    0,
                    Strategy::OneForOne,
                    lots,
                    vec![
                        crasher(1, 5, Restart::Transient),
                        crasher(0, 5, Restart::Temporary),
                        crasher(2, 0, Restart::Transient),
                    ],
                ),
                CaseStep::Sleep(100),
                CaseStep::Report(0, 0, vec![false, false, true]),
                CaseStep::Child(1, 0, 2),
                CaseStep::Signal(1, 5),
                CaseStep::Exits(1, Exit::Code(5)),
                CaseStep::Restarts(0, 1),
                CaseStep::Child(2, 0, 2),
                CaseStep::Differ(1, 2),
                CaseStep::Report(0, 1, vec![false, false, true]),
            ],
        ),
        case(
            "supervisor-stops-when-parent-exits",
            vec![],
            vec![
                CaseStep::Supervise(0, Strategy::OneForOne, lots, vec![crasher(2, 0, Restart::Permanent)]),
                CaseStep::Child(1, 0, 0),
                CaseStep::Signal(0, 9),
                CaseStep::Exits(0, Exit::Code(9)),
                CaseStep::Exits(1, Exit::Killed),
                CaseStep::Expect(tag::EXIT, vec![V::Pid(0), lit(9)]),
            ],
        ),
    ]
}
