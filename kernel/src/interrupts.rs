//! The kernel's interrupt handler: what each event the board reports means here.
//!
//! * the tick goes to the runtime (preemption, the tickless idle);
//! * a stop IPI halts the core for a panic elsewhere (`panic`), and at the end of every
//!   interrupt a core halts if a panic asked all cores to stop;
//! * a ping IPI (the IPI self-test) is answered with a pong to every core that sent
//!   one; wake and pong IPIs only end a WFI (the flags their senders set carry the data);
//! * console input is drained into the console's receive ring.
//!
//! `init` registers [`KERNEL`] with the board before it enables interrupts.

use crate::board::{self, Event, InterruptHandler, Ipi, CORES};
use core::sync::atomic::Ordering;

/// The handler `init` registers.
pub static KERNEL: Kernel = Kernel;

/// The kernel's [`InterruptHandler`].
pub struct Kernel;

impl InterruptHandler for Kernel {
    fn event(&self, core: usize, event: Event) {
        match event {
            Event::Tick => crate::runtime::on_tick(core),
            Event::Ipi(Ipi::Stop) => crate::panic::on_stop_ipi(core),
            Event::Ipi(Ipi::Ping) => answer_pings(core),
            Event::Ipi(Ipi::Wake | Ipi::Pong) => {}
            Event::ConsoleInput => crate::console::line::on_rx_interrupt(),
        }
    }

    fn after(&self, core: usize) {
        crate::panic::stop_if_requested(core);
    }
}

/// Sends a pong to every core whose ping to `me` is pending.
fn answer_pings(me: usize) {
    let Some(m) = board::machine() else { return };
    // AcqRel: take every pending ping and see the sender's earlier writes.
    let from = CORES[me].ping_from.swap(0, Ordering::AcqRel);
    for (s, sender) in CORES.iter().enumerate().take(m.cores) {
        if from & (1 << s) != 0 {
            // Release: the pong flag is visible before the IPI that announces it.
            sender.pong_from.fetch_or(1 << me, Ordering::Release);
            m.send_ipi(s, Ipi::Pong);
        }
    }
}
