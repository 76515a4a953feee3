//! The console's input side: a receive ring fed by the UART interrupt, and the
//! shell's line editor (echo, backspace, Ctrl-U, Ctrl-C, history on the arrow keys).
//!
//! Bytes arrive from the UART interrupt into a small ring (`push_rx`); the shell
//! drains it. The editor stores printable ASCII only: other control bytes, bytes of
//! 0x80 and above (so any invalid UTF-8) and escape sequences other than up/down are
//! swallowed; an over-long line is refused with a message when Enter is pressed,
//! rather than overflowing or running a truncated command. Escape sequences are
//! parsed as ECMA-48 says (ESC, then `[` with parameter bytes and a final byte, or
//! `O` and one byte), with a bound on their length, so garbage cannot hang the editor.

use crate::arch::cpu;
use core::sync::atomic::{AtomicBool, Ordering};
use heapless::{Deque, String, Vec};
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
    bytes: Deque<u8, RX_CAP>,
    dropped: u64,
}

static RX: Mutex<Ring> = Mutex::new(Ring { bytes: Deque::new(), dropped: 0 });

/// Called from the UART interrupt: moves received bytes into the receive ring.
pub fn on_rx_interrupt() {
    // Acknowledge first, then drain: a byte that arrives after the FIFO reads empty
    // raises a fresh interrupt. Acknowledging after the drain could clear that one, and
    // QEMU's PL011 raises its receive interrupt only when the FIFO goes from empty to one
    // byte, so the console would go deaf with bytes waiting (seen under load).
    super::ack_rx_interrupt();
    while let Some(b) = super::read_byte_raw() {
        push_rx(b);
    }
}

/// Queues a received byte (interrupt context). A full ring drops the byte.
pub fn push_rx(b: u8) {
    let mut r = RX.lock();
    if r.bytes.push_back(b).is_err() {
        r.dropped += 1;
        return;
    }
    // Release: the byte is queued before the flag announces it.
    RX_PENDING.store(true, Ordering::Release);
}

/// Takes one received byte.
pub fn pop_rx() -> Option<u8> {
    let saved = cpu::irq_save();
    let out = RX.lock().bytes.pop_front();
    cpu::irq_restore(saved);
    out
}

/// The next received byte, left in place.
pub fn peek_rx() -> Option<u8> {
    let saved = cpu::irq_save();
    let out = RX.lock().bytes.front().copied();
    cpu::irq_restore(saved);
    out
}

/// Lines kept for recall with the arrow keys.
pub const HISTORY: usize = 32;
/// Longest escape sequence accepted before it is dropped as garbage.
const MAX_ESCAPE: usize = 16;

/// Where the editor is within an escape sequence.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// Not in one.
    None,
    /// After ESC.
    Start,
    /// After ESC `[`, with this many parameter bytes so far.
    Csi(usize),
    /// After ESC `O`: one more byte ends it.
    Ss3,
}

/// An editable line with history.
pub struct LineEditor {
    /// The line being edited (printable ASCII only).
    buf: Vec<u8, LINE_CAP>,
    /// The last complete line, which [`Event::Line`] lends out.
    done: String<LINE_CAP>,
    /// Characters were dropped because the line was full.
    overflow: bool,
    escape: Escape,
    /// The previous byte was CR (a following LF is the same line end).
    after_cr: bool,
    history: Deque<String<LINE_CAP>, HISTORY>,
    /// Position while browsing the history (None = editing a new line).
    browsing: Option<usize>,
}

/// What one input byte did.
pub enum Event<'a> {
    /// Nothing to act on yet.
    Pending,
    /// A complete line (without the terminator).
    Line(&'a str),
    /// The line was longer than [`LINE_CAP`] and was dropped.
    TooLong,
    /// Ctrl-C: the line was abandoned.
    Cancelled,
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

impl LineEditor {
    /// An empty line, no history.
    pub const fn new() -> Self {
        LineEditor {
            buf: Vec::new(),
            done: String::new(),
            overflow: false,
            escape: Escape::None,
            after_cr: false,
            history: Deque::new(),
            browsing: None,
        }
    }

    /// The line typed so far (to show it again after other output).
    pub fn partial(&self) -> &str {
        core::str::from_utf8(&self.buf).unwrap_or("")
    }

    /// Feeds one byte, echoing as a terminal user expects.
    pub fn feed(&mut self, b: u8) -> Event<'_> {
        let after_cr = core::mem::replace(&mut self.after_cr, b == b'\r');
        match self.escape {
            Escape::None => {}
            Escape::Start => {
                self.escape = match b {
                    b'[' => Escape::Csi(0),
                    b'O' => Escape::Ss3,
                    _ => Escape::None,
                };
                return Event::Pending;
            }
            Escape::Csi(n) => {
                self.escape = match b {
                    // Parameter and intermediate bytes.
                    0x20..=0x3f if n < MAX_ESCAPE => Escape::Csi(n + 1),
                    // The final byte.
                    0x40..=0x7e => {
                        self.arrow(b);
                        Escape::None
                    }
                    _ => Escape::None,
                };
                return Event::Pending;
            }
            Escape::Ss3 => {
                self.escape = Escape::None;
                self.arrow(b);
                return Event::Pending;
            }
        }
        match b {
            b'\n' if after_cr => Event::Pending,
            b'\r' | b'\n' => {
                crate::print!("\n");
                self.browsing = None;
                self.done.clear();
                // Only printable ASCII is ever stored, so this is valid UTF-8, and it
                // fits: both hold LINE_CAP bytes.
                let _ = self.done.push_str(core::str::from_utf8(&self.buf).unwrap_or(""));
                self.buf.clear();
                if core::mem::take(&mut self.overflow) {
                    return Event::TooLong;
                }
                let trimmed = self.done.trim();
                if !trimmed.is_empty() && self.history.back().map(String::as_str) != Some(trimmed) {
                    if self.history.is_full() {
                        self.history.pop_front();
                    }
                    let _ = self.history.push_back(String::try_from(trimmed).unwrap_or_default());
                }
                Event::Line(self.done.as_str())
            }
            0x1b => {
                self.escape = Escape::Start;
                Event::Pending
            }
            0x08 | 0x7f => {
                if self.buf.pop().is_some() {
                    crate::print!("\x08 \x08");
                }
                Event::Pending
            }
            0x15 => {
                self.erase();
                self.overflow = false;
                Event::Pending
            }
            0x03 => {
                crate::print!("^C\n");
                self.buf.clear();
                self.overflow = false;
                self.browsing = None;
                Event::Cancelled
            }
            0x20..=0x7e => {
                if self.buf.push(b).is_ok() {
                    crate::print!("{}", b as char);
                } else {
                    if !self.overflow {
                        crate::print!("\x07");
                    }
                    self.overflow = true;
                }
                Event::Pending
            }
            _ => Event::Pending,
        }
    }

    /// Erases the line on the terminal and in the buffer.
    fn erase(&mut self) {
        while self.buf.pop().is_some() {
            crate::print!("\x08 \x08");
        }
    }

    /// Acts on the final byte of an escape sequence: `A` (up) and `B` (down) walk the
    /// history; anything else is ignored.
    fn arrow(&mut self, b: u8) {
        let n = self.history.len();
        let next = match (b, self.browsing) {
            (b'A', None) if n > 0 => Some(n - 1),
            (b'A', Some(i)) => Some(i.saturating_sub(1)),
            (b'B', Some(i)) if i + 1 < n => Some(i + 1),
            (b'B', Some(_)) => None,
            _ => return,
        };
        self.erase();
        self.overflow = false;
        self.browsing = next;
        if let Some(line) = next.and_then(|i| self.history.iter().nth(i)) {
            // A history line came from the buffer, so it fits.
            let _ = self.buf.extend_from_slice(line.as_bytes());
            crate::print!("{}", line.as_str());
        }
    }
}
