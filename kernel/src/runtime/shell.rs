//! The console shell, a native task under the scheduler: a line editor with history
//! (see [`crate::console::line`]) and commands to look at and drive the system.
//!
//! It waits for messages like any process; console input (an interrupt) sets a flag
//! that the boot core's loop turns into a wake-up (see the runtime module). `top`
//! redraws on a timer: the shell waits with a deadline and checks for a key.
//!
//! Every command answers on the console; a bad command or argument gets one line that
//! starts with the command's name (or `unknown command`).

use super::{engine, KernelPlatform};
use crate::arch::cpu;
use crate::board::{self, CORES};
use crate::console::line::{self, Event, LineEditor, LINE_CAP};
use crate::{print, println};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, Ordering};
use zbeam_engine::{Engine, NativeCx, NativeStep, NativeTask, Pid, SpawnError};
use zbeam_sched::{CoreId, CpuSet, Priority};

static SHELL_PID: AtomicU32 = AtomicU32::new(0);

/// Wakes the shell (called from a core loop, never from an interrupt handler).
pub fn notify(e: &Engine<KernelPlatform>) {
    let pid = SHELL_PID.load(Ordering::Acquire);
    if pid != 0 {
        e.notify(Pid::from_raw(pid));
    }
}

/// Spawns the shell on the boot core at max priority, which no Z80 program can have
/// (docs/ABI.md, "Limits and protection"): it answers under any program load. As a
/// native task it is a system process, out of reach of programs' KILL, LINK and
/// SIGNAL. The first prompt comes `quiet_ms` after the shell starts, so boot-time
/// output is not mixed into it.
pub fn spawn(e: &Engine<KernelPlatform>, quiet_ms: u64) {
    let task = Box::new(Shell {
        ed: LineEditor::new(),
        mode: Mode::Starting { quiet_ms },
        last_spawned: None,
        top: TopState::default(),
    });
    if let Ok(pid) = e.spawn_native(task, Priority::Max, CpuSet::single(CoreId::new(0)), CoreId::new(0)) {
        SHELL_PID.store(pid.get(), Ordering::Release);
        super::set_input_handler(notify);
    }
}

const PROMPT: &str = "zbeam> ";
/// How often `top` redraws, in ms.
const TOP_PERIOD_MS: u64 = 1000;
/// Processes `top` lists.
const TOP_ROWS: usize = 12;

const HELP: &str = "\
commands:
  help                         this list
  ps [from] [rows]             processes: pid, name, priority, state, core, reductions, queue, memory;
                               a page of 64 rows (or rows) from slot 1 (or from the slot of pid from)
  sched                        per core: run queues by priority, utilisation, reductions, steals, migrations,
                               IPIs received, wake-up IPIs sent to it and those that found no work, ticks
  top                          live view, redrawn every second until a key is pressed
  spawn <image> [prio] [cpus] [-- args]
                               start a Z80 program; prio high|normal|low (max is the system's),
                               cpus like 0-1,3; the text after -- is its argument block
  kill <pid>                   stop a process ($! = the last pid spawned or par run started here)
  stop <pid>                   freeze a process and everything it spawned (no more spawns), kill them all,
                               and wait until they are gone
  send <pid> <text>            send <text> to a process as a message from pid 0
  fg <pid>                     give the console input to a process (its READ and CP/M input); Ctrl-] returns
  symbos <image> [args]        run a SymbOS program in the foreground (its SymShell is the console); Ctrl-] returns
  par <image> [cores] [budget] run a CP/M program through the dispatcher on [cores] cores and once
                               sequentially; report speedup, squashes, learnt choices (budget: M instructions);
                               it runs as its own process while the shell answers; Ctrl-C stops it
  trace on|off|dump            record scheduling events per core; print them (tools/traceview draws them)
  stats                        processes, messages, heap, uptime, restarts
  cores | mem | uptime         the cores, the heap, time since boot
  halt                         power off
keys: backspace, Ctrl-U erases the line, Ctrl-C cancels it (and stops a running par), up/down recall
      earlier lines";

enum Mode {
    /// Before the first prompt.
    Starting { quiet_ms: u64 },
    /// Reading a line.
    Prompt,
    /// `top`: the next redraw is due at this time (ms).
    Top { next: u64 },
    /// `fg`: console input goes to this process until Ctrl-] or its exit.
    Foreground { pid: Pid },
    /// `stop`: waiting (until this time, ms) for the stopped tree to be torn down.
    Stopping { until: u64 },
}

/// How long `stop` waits for a stopped tree's teardown before giving the prompt back.
const STOP_WAIT_MS: u64 = 30_000;
/// How often `stop` looks, in ms.
const STOP_POLL_MS: u64 = 20;
/// How often the shell looks whether a `par` run has ended, in ms.
const PAR_POLL_MS: u64 = 50;

/// Ctrl-]: leaves `fg`, as telnet's escape character does.
const FG_ESCAPE: u8 = 0x1d;

/// What `top` remembers between redraws, to show rates.
#[derive(Default)]
struct TopState {
    frame: u64,
    at_ms: u64,
    at_counter: u64,
    idle: Vec<u64>,
    core_reds: Vec<u64>,
    proc_reds: Vec<(Pid, u64)>,
    messages: u64,
}

struct Shell {
    ed: LineEditor,
    mode: Mode,
    last_spawned: Option<Pid>,
    top: TopState,
}

impl NativeTask for Shell {
    fn name(&self) -> &'static str {
        "shell"
    }

    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        // Programs may send the shell messages; it takes none, so it drops them
        // rather than let them pile up.
        while cx.receive().is_some() {}
        let now = cx.now_ms();
        // A `par` run that has ended gets its last line here, and a fresh prompt.
        if super::par::poll(cx) && matches!(self.mode, Mode::Prompt) {
            print!("{PROMPT}{}", self.ed.partial());
        }
        match self.mode {
            Mode::Starting { quiet_ms } if quiet_ms > 0 => {
                self.mode = Mode::Starting { quiet_ms: 0 };
                return NativeStep::Wait { until: Some(now + quiet_ms) };
            }
            Mode::Starting { .. } => {
                self.mode = Mode::Prompt;
                print!("{PROMPT}");
            }
            Mode::Top { next } => {
                if line::pop_rx().is_some() {
                    // Any key ends top, and whatever came with it (an arrow key is
                    // three bytes).
                    while line::pop_rx().is_some() {}
                    self.mode = Mode::Prompt;
                    print!("{PROMPT}");
                    return NativeStep::Wait { until: None };
                }
                if now >= next && !self.draw_top(now) {
                    self.mode = Mode::Prompt;
                    print!("{PROMPT}");
                    return NativeStep::Wait { until: None };
                }
                let next = if now >= next { now + TOP_PERIOD_MS } else { next };
                self.mode = Mode::Top { next };
                return NativeStep::Wait { until: Some(next) };
            }
            Mode::Foreground { pid } => {
                let mut back = !cx.is_live(pid);
                let mut buf = [0u8; 64];
                let mut n = 0;
                while let Some(b) = line::pop_rx() {
                    if b == FG_ESCAPE {
                        back = true;
                        break;
                    }
                    buf[n] = b;
                    n += 1;
                    if n == buf.len() {
                        cx.console_input(&buf[..n]);
                        n = 0;
                    }
                }
                if n > 0 {
                    cx.console_input(&buf[..n]);
                }
                if back {
                    cx.set_console_reader(Pid::KERNEL);
                    println!();
                    if let Some(exit) = cx.last_exit(pid).filter(|_| !cx.is_live(pid)) {
                        println!("[pid {pid} exited: {}]", crate::trace::exit_word(exit));
                    }
                    println!("[console back to the shell]");
                    self.mode = Mode::Prompt;
                    print!("{PROMPT}");
                    return NativeStep::Wait { until: None };
                }
                // Look again soon: the process may exit without any input arriving.
                return NativeStep::Wait { until: Some(now + 100) };
            }
            Mode::Stopping { until } => {
                let left = engine().map_or(0, |e| e.frozen_live());
                if left > 0 && now < until {
                    return NativeStep::Wait { until: Some(now + STOP_POLL_MS) };
                }
                if left == 0 {
                    println!("stop: the tree is gone");
                } else {
                    println!("stop: {left} processes still exiting");
                }
                self.mode = Mode::Prompt;
                print!("{PROMPT}");
            }
            Mode::Prompt => {}
        }
        while let Some(b) = line::pop_rx() {
            cx.used += 1;
            let cmd: Option<String> = match self.ed.feed(b) {
                Event::Pending => continue,
                Event::Line(l) => Some(String::from(l.trim())),
                Event::TooLong => {
                    println!("line too long (at most {LINE_CAP} characters): ignored");
                    None
                }
                Event::Cancelled => {
                    if let Some(pid) = super::par::interrupt() {
                        println!("par: stopping pid {pid}");
                    }
                    None
                }
            };
            if let Some(cmd) = cmd {
                self.command(&cmd, cx);
            }
            if let Mode::Top { .. } = self.mode {
                // What arrived with the command line (a terminal's LF after CR) must
                // not end top before its first frame.
                while line::pop_rx().is_some() {}
                let now = cx.now_ms();
                if self.draw_top(now) {
                    self.mode = Mode::Top { next: now + TOP_PERIOD_MS };
                    return NativeStep::Wait { until: Some(now + TOP_PERIOD_MS) };
                }
                self.mode = Mode::Prompt;
            }
            if let Mode::Stopping { .. } = self.mode {
                return NativeStep::Wait { until: Some(cx.now_ms() + STOP_POLL_MS) };
            }
            if let Mode::Foreground { .. } = self.mode {
                // The terminal's LF after the CR of `fg <pid>` is not input for the process.
                if line::peek_rx() == Some(b'\n') {
                    let _ = line::pop_rx();
                }
                return NativeStep::Wait { until: Some(cx.now_ms() + 100) };
            }
            print!("{PROMPT}");
        }
        // While a `par` run goes on, look again soon for its end.
        NativeStep::Wait { until: super::par::running().then(|| cx.now_ms() + PAR_POLL_MS) }
    }
}

/// `kill`: asks `pid` to exit. A `par` run is also asked to stop at its next look:
/// its process does all its work in one long step, which the exit request alone
/// would let run to its end.
fn kill(cx: &mut NativeCx<'_>, pid: Pid) -> bool {
    super::par::stopping(pid, "kill");
    cx.kill(pid)
}

/// `stop`: freezes and kills `pid`'s tree (a `par` run is asked to stop, as by [`kill`]).
fn stop_tree(e: &Engine<KernelPlatform>, pid: Pid) -> Option<usize> {
    super::par::stopping(pid, "stop");
    e.stop_tree(pid)
}

/// Parses a core list like `0-1,3` for a machine of `cores` cores.
fn parse_cpus(s: &str, cores: usize) -> Result<CpuSet, String> {
    let mut set = CpuSet::EMPTY;
    for part in s.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>(), b.parse::<usize>()),
            None => (part.parse::<usize>(), part.parse::<usize>()),
        };
        let (Ok(lo), Ok(hi)) = (lo, hi) else {
            return Err(alloc::format!("bad cpu list '{s}' (example: 0-1,3)"));
        };
        if lo > hi || hi >= cores {
            return Err(alloc::format!("no core {} on this machine (cores 0-{})", hi.max(lo), cores - 1));
        }
        for c in lo..=hi {
            set.insert(CoreId::new(c));
        }
    }
    Ok(set)
}

/// Formats a core set as ranges (`0-1,3`).
fn cpus_text(set: CpuSet, cores: usize) -> String {
    let mut out = String::new();
    let mut c = 0;
    while c < cores {
        if set.contains(CoreId::new(c)) {
            let start = c;
            while c + 1 < cores && set.contains(CoreId::new(c + 1)) {
                c += 1;
            }
            if !out.is_empty() {
                out.push(',');
            }
            let _ = if start == c { write!(out, "{start}") } else { write!(out, "{start}-{c}") };
        }
        c += 1;
    }
    out
}

fn cores_of(e: &Engine<KernelPlatform>) -> usize {
    e.sched().topology().len()
}

/// Milliseconds since boot, with three decimals of seconds.
fn uptime_text(ms: u64) -> String {
    alloc::format!("{}.{:03} s", ms / 1000, ms % 1000)
}

/// Utilisation of `core` in percent between two samples of its idle counter.
fn busy_percent(idle_then: u64, idle_now: u64, elapsed: u64) -> u64 {
    let idle = idle_now.saturating_sub(idle_then).min(elapsed);
    (elapsed - idle) * 100 / elapsed.max(1)
}

impl Shell {
    fn command(&mut self, cmd: &str, cx: &mut NativeCx<'_>) {
        let Some(e) = engine() else { return };
        let (word, rest) = match cmd.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim_start()),
            None => (cmd, ""),
        };
        let mut args = rest.split_whitespace();
        match word {
            "" => {}
            "help" => println!("{HELP}"),
            "ps" => match (args.next().map(|w| self.pid_arg(w)), args.next().map(str::parse::<usize>)) {
                (Some(None), _) | (_, Some(Err(_))) => println!("ps: usage: ps [from] [rows]"),
                (from, rows) => ps(e, from.flatten().map_or(1, Pid::get), rows.and_then(Result::ok).unwrap_or(PS_ROWS)),
            },
            "sched" => sched(e),
            "top" => {
                self.top = TopState::default();
                self.mode = Mode::Top { next: 0 };
            }
            "spawn" => {
                // Everything after `--` is the program's argument block.
                let (opts, pargs) = match rest.split_once("--") {
                    Some((o, a)) => (o, a.trim()),
                    None => (rest, ""),
                };
                self.spawn(e, opts.split_whitespace().collect(), pargs.as_bytes(), cx)
            }
            "stop" => match (args.next(), args.next()) {
                (Some(w), None) => match self.pid_arg(w) {
                    Some(pid) if pid == cx.pid() => println!("stop: {pid} is this shell"),
                    Some(pid) => match stop_tree(e, pid) {
                        Some(n) => {
                            println!("stopped {n} processes: {pid} and everything it spawned");
                            self.mode = Mode::Stopping { until: cx.now_ms() + STOP_WAIT_MS };
                        }
                        None => println!("stop: no process {pid}"),
                    },
                    None => println!("stop: '{w}' is not a pid"),
                },
                _ => println!("stop: usage: stop <pid>"),
            },
            "kill" => match (args.next(), args.next()) {
                (Some(w), None) => match self.pid_arg(w) {
                    Some(pid) if pid == cx.pid() => println!("kill: {pid} is this shell"),
                    Some(pid) if kill(cx, pid) => println!("killed {pid}"),
                    Some(pid) => println!("kill: no process {pid}"),
                    None => println!("kill: '{w}' is not a pid"),
                },
                _ => println!("kill: usage: kill <pid>"),
            },
            "send" => {
                let (target, text) = match rest.split_once(char::is_whitespace) {
                    Some((p, t)) => (p, t.trim_start()),
                    None => (rest, ""),
                };
                match self.pid_arg(target) {
                    _ if text.is_empty() => println!("send: usage: send <pid> <text>"),
                    None => println!("send: '{target}' is not a pid"),
                    Some(pid) => match e.send(Pid::KERNEL, pid, text.as_bytes()) {
                        Ok(()) => println!("sent {} bytes to {pid}", text.len()),
                        Err(err) => println!("send: {pid}: {err:?}"),
                    },
                }
            }
            "fg" => match (args.next(), args.next()) {
                (Some(w), None) => match self.pid_arg(w) {
                    Some(pid) if pid == cx.pid() => println!("fg: {pid} is this shell"),
                    Some(pid) if cx.is_live(pid) => {
                        println!("console input goes to pid {pid} (Ctrl-] returns to the shell)");
                        cx.set_console_reader(pid);
                        self.mode = Mode::Foreground { pid };
                    }
                    Some(pid) => match cx.last_exit(pid) {
                        Some(exit) => {
                            println!("fg: no process {pid} ([pid {pid} exited: {}])", crate::trace::exit_word(exit))
                        }
                        None => println!("fg: no process {pid}"),
                    },
                    None => println!("fg: '{w}' is not a pid"),
                },
                _ => println!("fg: usage: fg <pid>"),
            },
            "symbos" => self.symbos(e, rest, cx),
            "par" => {
                if let Some(pid) = super::par::command(rest, cx) {
                    self.last_spawned = Some(pid);
                }
            }
            "trace" => trace(e, args.next(), args.next()),
            "stats" => stats(e),
            "cores" => cores(),
            "mem" => mem(e),
            "uptime" => println!("up {} ms", cpu::ticks_to_us(cpu::counter()) / 1000),
            "halt" => {
                println!("halting");
                if let Some(m) = board::machine() {
                    let err = board::psci::system_off(m.psci);
                    println!("PSCI SYSTEM_OFF failed: {err}");
                }
            }
            other => println!("unknown command '{other}' (type help)"),
        }
    }

    /// A pid argument: a number, or `$!` for the last process spawned here.
    fn pid_arg(&self, w: &str) -> Option<Pid> {
        if w == "$!" {
            return self.last_spawned;
        }
        w.parse::<u32>().ok().map(Pid::from_raw)
    }

    fn spawn(&mut self, e: &Engine<KernelPlatform>, words: Vec<&str>, pargs: &[u8], cx: &mut NativeCx<'_>) {
        let n = cores_of(e);
        let Some(&name) = words.first() else {
            let names: Vec<&str> = e.images().iter().map(|i| i.name).collect();
            println!("spawn: usage: spawn <image> [prio] [cpus] (images: {})", names.join(", "));
            return;
        };
        let Some(image) = e.image_index(name) else {
            let names: Vec<&str> = e.images().iter().map(|i| i.name).collect();
            println!("spawn: unknown image {name:?} (images: {})", names.join(", "));
            return;
        };
        let (mut prio, mut cpus) = (None, None);
        for &w in &words[1..] {
            if let Some(p) = Priority::from_name(w) {
                if prio.replace(p).is_some() {
                    println!("spawn: two priorities given");
                    return;
                }
            } else if w.starts_with(|c: char| c.is_ascii_digit()) {
                match parse_cpus(w, n) {
                    Ok(set) if cpus.is_none() => cpus = Some(set),
                    Ok(_) => {
                        println!("spawn: two cpu lists given");
                        return;
                    }
                    Err(msg) => {
                        println!("spawn: {msg}");
                        return;
                    }
                }
            } else {
                println!("spawn: '{w}' is neither a priority (max, high, normal, low) nor a cpu list (like 0-1,3)");
                return;
            }
        }
        let prio = prio.unwrap_or(Priority::Normal);
        if prio == Priority::Max {
            println!("spawn: max priority is reserved for system tasks (use high)");
            return;
        }
        let cpus = cpus.unwrap_or(CpuSet::first(n));
        if pargs.len() > zbeam_engine::abi::MAX_ARGS {
            println!("spawn: arguments longer than {} bytes", zbeam_engine::abi::MAX_ARGS);
            return;
        }
        match cx.spawn(image, pargs, prio, cpus) {
            Ok(pid) => {
                self.last_spawned = Some(pid);
                println!("spawned {name} as pid {pid} ({}, cores {})", prio.name(), cpus_text(cpus, n));
            }
            Err(SpawnError::TableFull) => println!("spawn: the process table is full"),
            Err(SpawnError::OutOfMemory) => println!("spawn: out of memory"),
            Err(err) => println!("spawn: {err:?}"),
        }
    }

    /// `symbos <image> [args]`: starts a SymbOS program (an image with a SymbOS
    /// header) with `args` on its command line and gives it the console as `fg` does.
    fn symbos(&mut self, e: &Engine<KernelPlatform>, rest: &str, cx: &mut NativeCx<'_>) {
        let (name, args) = match rest.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (rest, ""),
        };
        let programs = || -> Vec<&str> {
            e.images().iter().filter(|i| zbeam_symbos::exe::is_symbos(i.bytes)).map(|i| i.name).collect()
        };
        if name.is_empty() {
            println!("symbos: usage: symbos <image> [args] (SymbOS images: {})", programs().join(", "));
            return;
        }
        let Some(image) = e.image_index(name).filter(|&i| zbeam_symbos::exe::is_symbos(e.images()[i].bytes)) else {
            println!("symbos: {name:?} is not a SymbOS image (SymbOS images: {})", programs().join(", "));
            return;
        };
        match cx.spawn(image, args.as_bytes(), Priority::Normal, CpuSet::first(cores_of(e))) {
            Ok(pid) => {
                self.last_spawned = Some(pid);
                println!("symbos: {name} runs as pid {pid} with the console (Ctrl-] returns to the shell)");
                cx.set_console_reader(pid);
                self.mode = Mode::Foreground { pid };
            }
            Err(SpawnError::BadImage) => println!("symbos: {name}: not a loadable SymbOS executable"),
            Err(SpawnError::ArgsTooLong) => println!("symbos: arguments too long"),
            Err(err) => println!("symbos: {err:?}"),
        }
    }

    /// Draws one frame of `top`; false (and a line saying so) if the memory for its
    /// tables cannot be had, and `top` ends.
    fn draw_top(&mut self, now_ms: u64) -> bool {
        let Some(e) = engine() else { return false };
        let procs = e.live() + 16;
        let mut rows: Vec<(u64, Pid, u64)> = Vec::new();
        let mut proc_reds: Vec<(Pid, u64)> = Vec::new();
        let mut idle: Vec<u64> = Vec::new();
        let mut core_reds: Vec<u64> = Vec::new();
        let n = cores_of(e);
        if rows.try_reserve_exact(procs).is_err()
            || proc_reds.try_reserve_exact(procs).is_err()
            || idle.try_reserve_exact(n).is_err()
            || core_reds.try_reserve_exact(n).is_err()
        {
            println!("top: no memory for a frame ({procs} processes)");
            return false;
        }
        let counter = cpu::counter();
        let t = &mut self.top;
        t.frame += 1;
        let elapsed_ms = now_ms.saturating_sub(t.at_ms).max(1);
        let first = t.frame == 1;
        let messages = e.messages();
        // Clear the screen, home the cursor.
        print!("\x1b[H\x1b[2J");
        println!(
            "top: refresh {}, up {}, {} processes, {} messages/s (any key quits)",
            t.frame,
            uptime_text(now_ms),
            e.live(),
            if first { 0 } else { (messages - t.messages) * 1000 / elapsed_ms }
        );
        println!("core  busy%   reductions/s  queued(max/high/normal/low)");
        for c in 0..n {
            let s = e.sched().stats(CoreId::new(c));
            let id = super::idle_ticks(c, counter);
            let (busy, rate) = if first {
                (busy_percent(0, id, counter), 0)
            } else {
                (
                    busy_percent(t.idle[c], id, counter - t.at_counter),
                    (s.reductions - t.core_reds[c]) * 1000 / elapsed_ms,
                )
            };
            let q = s.run_queue;
            println!("{c:>4} {busy:>5}% {rate:>14}  {}/{}/{}/{}", q[0], q[1], q[2], q[3]);
            idle.push(id);
            core_reds.push(s.reductions);
        }
        for pid in e.live_pids() {
            let Some(info) = e.proc_info(pid) else { continue };
            if rows.len() == rows.capacity() {
                // More processes than when the frame began: the rest wait a frame.
                break;
            }
            // Sorted by pid: pushed in pid order below.
            let before = t.proc_reds.binary_search_by_key(&pid, |p| p.0).map_or(0, |i| t.proc_reds[i].1);
            // A process on a core right now shows no new reductions this frame.
            let reds = info.stats.map_or(before, |s| s.reductions);
            rows.push((reds.saturating_sub(before) * 1000 / elapsed_ms, pid, reds));
            proc_reds.push((pid, reds));
        }
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        println!("  pid name         prio   state core  reductions/s");
        for &(rate, pid, _) in rows.iter().take(TOP_ROWS) {
            if let Some(info) = e.proc_info(pid) {
                println!(
                    "{pid:>5} {:<12} {:<6} {:<5} {:>4} {:>13}",
                    info.name,
                    info.prio.name(),
                    info.state.name(),
                    info.core.index(),
                    if first { 0 } else { rate }
                );
            }
        }
        *t = TopState { frame: t.frame, at_ms: now_ms, at_counter: counter, idle, core_reds, proc_reds, messages };
        true
    }
}

/// Rows `ps` shows at most unless told otherwise (a million processes are paged).
const PS_ROWS: usize = 64;

/// `ps`: up to `rows` live processes from the slot of pid `from` on (its index bits).
pub(crate) fn ps(e: &Engine<KernelPlatform>, from: u32, rows: usize) {
    println!("  pid name         prio   state core  reductions  msgq     mem");
    let first = zbeam_engine::Pid::from_raw(from).index();
    let mut shown = 0;
    let mut more = None;
    for pid in e.live_pids().skip_while(|&p| p.index() < first) {
        let Some(info) = e.proc_info(pid) else { continue };
        if shown == rows {
            more = Some(pid.index());
            break;
        }
        shown += 1;
        let reds = match info.stats {
            Some(s) => alloc::format!("{}", s.reductions),
            None => String::from("(running)"),
        };
        let mem = if info.memory == 0 { String::from("-") } else { alloc::format!("{}K", info.memory.div_ceil(1024)) };
        println!(
            "{pid:>5} {:<12} {:<6} {:<5} {:>4} {reds:>11} {:>5} {mem:>7}",
            info.name,
            info.prio.name(),
            info.state.name(),
            info.core.index(),
            info.queue
        );
    }
    println!("{shown} shown, {} live, {} spawned since boot", e.live(), e.spawned());
    if let Some(next) = more {
        println!("more: ps {next}");
    }
}

fn sched(e: &Engine<KernelPlatform>) {
    let n = cores_of(e);
    let counter = cpu::counter();
    println!(
        "core   max  high normal  low  busy%  reductions  switches  steals  migr-in migr-out   ipis  wakes  empty   ticks"
    );
    for (c, st) in CORES.iter().enumerate().take(n) {
        let s = e.sched().stats(CoreId::new(c));
        let busy = busy_percent(0, super::idle_ticks(c, counter), counter);
        let (wakes, empty) = super::wake_counts(c);
        println!(
            "{c:>4} {:>5} {:>5} {:>6} {:>4} {busy:>5}% {:>11} {:>9} {:>7} {:>8} {:>8} {:>6} {wakes:>6} {empty:>6} {:>7}",
            s.run_queue[0],
            s.run_queue[1],
            s.run_queue[2],
            s.run_queue[3],
            s.reductions,
            s.context_switches,
            s.steals,
            s.migrations_in,
            s.migrations_out,
            st.ipis.load(Ordering::Relaxed),
            st.ticks.load(Ordering::Relaxed)
        );
    }
}

fn trace(e: &Engine<KernelPlatform>, what: Option<&str>, extra: Option<&str>) {
    let n = cores_of(e);
    match (what, extra) {
        (Some("on"), None) => match crate::trace::start(n) {
            Ok(()) => println!("trace: on ({} events kept per core)", crate::trace::CAPACITY),
            Err(bytes) => println!("trace: no memory for the event rings ({bytes} bytes per core): off"),
        },
        (Some("off"), None) => {
            crate::trace::stop();
            println!("trace: off");
        }
        (Some("dump"), None) => {
            if let Err(bytes) = crate::trace::dump(n) {
                println!("trace: no memory to sort the events ({bytes} bytes)");
            }
        }
        (None, None) => println!("trace: {}", if crate::trace::enabled() { "on" } else { "off" }),
        _ => println!("trace: usage: trace on|off|dump"),
    }
}

pub(crate) fn stats(e: &Engine<KernelPlatform>) {
    let (used, free) = crate::heap::usage();
    let live = e.live() as u64;
    let spawned = e.spawned();
    println!("processes: {live} live, {spawned} spawned, {} exited", spawned.saturating_sub(live));
    println!("messages: {} sent", e.messages());
    println!("heap: {} KiB used, {} KiB free", used / 1024, free / 1024);
    println!("uptime: {}", uptime_text(cpu::ticks_to_us(cpu::counter()) / 1000));
    if let Some((n, pid)) = crate::workload::restarts() {
        println!("restarts: {n} (by the workload's supervisor, pid {pid})");
    }
}

fn cores() {
    let m = board::machine();
    let n = m.map_or(1, |m| m.cores);
    for (c, st) in CORES.iter().enumerate().take(n) {
        let class = m.map_or('?', |m| if m.class(c) == zbeam_devtree::CoreClass::Performance { 'P' } else { 'E' });
        println!(
            "core {c}: {} class {class} mpidr {:#x} ticks {} ipis {}",
            if st.online.load(Ordering::Relaxed) { "online " } else { "offline" },
            st.mpidr.load(Ordering::Relaxed),
            st.ticks.load(Ordering::Relaxed),
            st.ipis.load(Ordering::Relaxed)
        );
    }
}

/// `mem`: the heap, the bytes charged to processes against their budget, the shared
/// image templates, the run queues' room, each core's page pool and message-node pool.
fn mem(e: &Engine<KernelPlatform>) {
    let (used, free) = crate::heap::usage();
    let m = e.memory_stats();
    println!(
        "heap: {} KiB used ({} KiB of it kept for reuse), {} MiB free; {} processes",
        used / 1024,
        m.kept() / 1024,
        free >> 20,
        e.live()
    );
    println!("processes: {} KiB charged of a {} KiB budget", m.charged / 1024, m.budget / 1024);
    println!("templates: {} KiB shared; run queues and timer wheels: {} KiB", m.templates / 1024, m.queues / 1024);
    let page_kib = zbeam_engine::memory::PAGE_SIZE / 1024;
    for (c, p) in m.pools.iter().enumerate() {
        println!(
            "pool {c}: {} pages made, {} free ({} KiB pages); {} bodies kept ({} bytes each)",
            p.made, p.free, page_kib, p.bodies, p.body_bytes
        );
    }
    println!(
        "pool depot: {} pages, {} bodies (shared by the pools); {} pages given back to the heap",
        m.depot.free, m.depot.bodies, m.depot.returned
    );
    // The last node pool serves senders on no core (the kernel itself).
    for (c, n) in m.nodes.iter().enumerate() {
        let (made, back, free, bytes) = (n.made, n.returned, n.cached, n.node_bytes);
        if c + 1 == m.nodes.len() {
            println!("message nodes, no core: {made} made, {back} given back, {free} free ({bytes} bytes each)");
        } else {
            println!("message nodes, core {c}: {made} made, {back} given back, {free} free ({bytes} bytes each)");
        }
    }
    // Payload buffers per size class, summed over the classes of each core's pool.
    for (c, classes) in m.payloads.iter().enumerate() {
        let made: usize = classes.iter().map(|s| s.made).sum();
        let back: usize = classes.iter().map(|s| s.returned).sum();
        let free: usize = classes.iter().map(|s| s.cached).sum();
        let bytes: usize = classes.iter().map(|s| s.cached * s.node_bytes).sum();
        let whose = if c + 1 == m.payloads.len() { "no core".into() } else { alloc::format!("core {c}") };
        println!("payload buffers, {whose}: {made} made, {back} given back, {free} free ({} KiB)", bytes / 1024);
    }
}
