//! A minimal line reader for the boot prompt: echo, backspace, and line completion.
//!
//! Bytes arrive from the UART interrupt into a small ring (`push_rx`); the prompt loop
//! drains it. Control bytes other than backspace/DEL, CR/LF and Ctrl-U are ignored,
//! and an over-long line is cut with a message rather than overflowing.

use crate::arch::cpu;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;

/// Set by the receive interrupt; the boot core's loop turns it into a wake-up of the
/// shell (interrupt handlers never call into the engine).
static RX_PENDING: AtomicBool = AtomicBool::new(false);

/// Whether input arrived since the last [`take_rx_pending`].
pub fn rx_pending() -> bool {
    RX_PENDING.load(Ordering::Acquire)
}

/// Reads and clears the input-arrived flag.
pub fn take_rx_pending() -> bool {
    // Acquire: pairs with push_rx's Release, so the queued bytes are visible.
    RX_PENDING.swap(false, Ordering::Acquire)
}

const RX_CAP: usize = 256;
/// Longest accepted command line.
pub const LINE_CAP: usize = 128;

struct Ring {
    buf: [u8; RX_CAP],
    head: usize,
    len: usize,
    dropped: u64,
}

static RX: Mutex<Ring> = Mutex::new(Ring { buf: [0; RX_CAP], head: 0, len: 0, dropped: 0 });

/// Queues a received byte (interrupt context). A full ring drops the byte.
pub fn push_rx(b: u8) {
    let mut r = RX.lock();
    if r.len == RX_CAP {
        r.dropped += 1;
        return;
    }
    let tail = (r.head + r.len) % RX_CAP;
    r.buf[tail] = b;
    r.len += 1;
    // Release: the byte is queued before the flag announces it.
    RX_PENDING.store(true, Ordering::Release);
}

/// Takes one received byte.
pub fn pop_rx() -> Option<u8> {
    let saved = cpu::irq_save();
    let out = {
        let mut r = RX.lock();
        if r.len == 0 {
            None
        } else {
            let b = r.buf[r.head];
            r.head = (r.head + 1) % RX_CAP;
            r.len -= 1;
            Some(b)
        }
    };
    cpu::irq_restore(saved);
    out
}

/// An editable line.
pub struct LineEditor {
    buf: [u8; LINE_CAP],
    len: usize,
}

/// What one input byte did.
pub enum Event<'a> {
    /// Nothing to act on yet.
    Pending,
    /// A complete line (without the terminator).
    Line(&'a str),
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

impl LineEditor {
    /// An empty line.
    pub const fn new() -> Self {
        LineEditor { buf: [0; LINE_CAP], len: 0 }
    }

    /// Feeds one byte, echoing as a terminal user expects.
    pub fn feed(&mut self, b: u8) -> Event<'_> {
        match b {
            b'\r' | b'\n' => {
                crate::print!("\n");
                let n = core::mem::take(&mut self.len);
                // Only printable ASCII is ever stored, so this is valid UTF-8.
                Event::Line(core::str::from_utf8(&self.buf[..n]).unwrap_or(""))
            }
            0x08 | 0x7f => {
                if self.len > 0 {
                    self.len -= 1;
                    crate::print!("\x08 \x08");
                }
                Event::Pending
            }
            0x15 => {
                while self.len > 0 {
                    self.len -= 1;
                    crate::print!("\x08 \x08");
                }
                Event::Pending
            }
            0x20..=0x7e => {
                if self.len < LINE_CAP {
                    self.buf[self.len] = b;
                    self.len += 1;
                    crate::print!("{}", b as char);
                } else {
                    crate::print!("\x07");
                }
                Event::Pending
            }
            _ => Event::Pending,
        }
    }
}
