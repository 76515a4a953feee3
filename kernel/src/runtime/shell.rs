//! The console shell as a native task under the scheduler: a line reader with
//! backspace, and commands to look at and drive the system.
//!
//! It waits for messages like any process; console input (an interrupt) sets a flag
//! that the boot core's loop turns into a wake-up (see the runtime module).

use super::{engine, KernelPlatform};
use crate::arch::cpu;
use crate::board::{self, CORES};
use crate::console::line::{self, Event, LineEditor};
use crate::{print, println};
use alloc::boxed::Box;
use core::sync::atomic::{AtomicU32, Ordering};
use zbeam_engine::{Engine, NativeCx, NativeStep, NativeTask};
use zbeam_sched::{CoreId, CpuSet, Priority};

static SHELL_PID: AtomicU32 = AtomicU32::new(0);

/// Wakes the shell (called from a core loop, never from an interrupt handler).
pub fn notify(e: &Engine<KernelPlatform>) {
    let pid = SHELL_PID.load(Ordering::Acquire);
    if pid != 0 {
        e.notify(pid);
    }
}

/// Spawns the shell on the boot core at high priority.
pub fn spawn(e: &Engine<KernelPlatform>) {
    let task = Box::new(Shell { ed: LineEditor::new(), prompted: false });
    if let Ok(pid) = e.spawn_native(task, Priority::High, CpuSet::single(CoreId::new(0)), CoreId::new(0)) {
        SHELL_PID.store(pid.get(), Ordering::Release);
    }
}

struct Shell {
    ed: LineEditor,
    prompted: bool,
}

const HELP: &str =
    "commands: help, cores, sched, ps, spawn <image> [max|high|normal|low], kill <pid>, mem, uptime, halt";

impl NativeTask for Shell {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        if !self.prompted {
            self.prompted = true;
            print!("zbeam> ");
        }
        while let Some(b) = line::pop_rx() {
            cx.used += 1;
            if let Event::Line(l) = self.ed.feed(b) {
                command(l.trim(), cx);
                print!("zbeam> ");
            }
        }
        NativeStep::Wait { until: None }
    }
}

fn prio_from(word: Option<&str>) -> Option<Priority> {
    match word {
        None | Some("normal") => Some(Priority::Normal),
        Some("max") => Some(Priority::Max),
        Some("high") => Some(Priority::High),
        Some("low") => Some(Priority::Low),
        Some(_) => None,
    }
}

fn command(cmd: &str, cx: &mut NativeCx<'_>) {
    let Some(e) = engine() else { return };
    let m = board::machine();
    let mut words = cmd.split_whitespace();
    match words.next() {
        None => {}
        Some("help") => println!("{HELP}"),
        Some("cores") => {
            let n = m.map_or(1, |m| m.cores);
            for (c, st) in CORES.iter().enumerate().take(n) {
                let class =
                    m.map_or('?', |m| if m.class(c) == zbeam_devtree::CoreClass::Performance { 'P' } else { 'E' });
                println!(
                    "core {c}: {} class {class} mpidr {:#x} ticks {} ipis {}",
                    if st.online.load(Ordering::Relaxed) { "online " } else { "offline" },
                    st.mpidr.load(Ordering::Relaxed),
                    st.ticks.load(Ordering::Relaxed),
                    st.ipis.load(Ordering::Relaxed)
                );
            }
        }
        Some("sched") => {
            let n = e.sched().topology().len();
            println!("core   max  high normal  low  reductions  switches  steals  migr-in  busy%");
            for c in 0..n {
                let s = e.sched().stats(CoreId::new(c));
                let total = (s.busy_time + s.idle_time).max(1);
                println!(
                    "{c:>4} {:>5} {:>5} {:>6} {:>4} {:>11} {:>9} {:>7} {:>8} {:>6}",
                    s.run_queue[0],
                    s.run_queue[1],
                    s.run_queue[2],
                    s.run_queue[3],
                    s.reductions,
                    s.context_switches,
                    s.steals,
                    s.migrations_in,
                    s.busy_time * 100 / total
                );
            }
        }
        Some("ps") => {
            println!("  pid  reductions   slices  cores");
            for pid in 1..e.capacity() as u32 {
                if e.is_live(pid) {
                    match e.proc_stats(pid) {
                        Some(s) => println!("{pid:>5} {:>11} {:>8}  {:#x}", s.reductions, s.slices, s.ran_on),
                        None => println!("{pid:>5}    (running)"),
                    }
                }
            }
            println!("{} live, {} spawned since boot", e.live(), e.spawned());
        }
        Some("spawn") => {
            let name = words.next();
            let Some(image) = name.and_then(|n| e.image_index(n)) else {
                let names: alloc::vec::Vec<&str> = e.images().iter().map(|i| i.name).collect();
                println!("spawn: unknown image {:?} (images: {})", name.unwrap_or(""), names.join(", "));
                return;
            };
            let Some(prio) = prio_from(words.next()) else {
                println!("spawn: priority must be max, high, normal or low");
                return;
            };
            match cx.spawn(image, &[], prio, CpuSet::ALL) {
                Ok(pid) => println!("spawned {} as pid {pid}", e.images()[image].name),
                Err(err) => println!("spawn: {err:?}"),
            }
        }
        Some("kill") => match words.next().and_then(|w| w.parse::<u32>().ok()) {
            Some(pid) if pid != cx.pid() as u32 && cx.kill(pid) => println!("killed {pid}"),
            Some(pid) => println!("kill: no process {pid}"),
            None => println!("kill: usage: kill <pid>"),
        },
        Some("mem") => {
            let (used, free) = crate::heap::usage();
            println!("heap: {} KiB used, {} MiB free; {} processes", used / 1024, free >> 20, e.live());
        }
        Some("uptime") => println!("up {} ms", cpu::ticks_to_us(cpu::counter()) / 1000),
        Some("halt") => {
            println!("halting");
            if let Some(m) = m {
                let err = board::psci::system_off(m.psci);
                println!("PSCI SYSTEM_OFF failed: {err}");
            }
        }
        Some(other) => println!("unknown command '{other}' ({HELP})"),
    }
}
