//! The serial console: formatted output shared by all cores, a receive buffer fed by
//! the UART interrupt, and the boot prompt's minimal line reader.
//!
//! Output takes a spin lock with interrupts masked, so lines from different cores do
//! not interleave mid-line and an interrupt handler can print. The panic path writes
//! without the lock (the panicking core may hold it).

pub mod line;

use crate::arch::cpu;
use crate::board::mmio::Mmio;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::Mutex;
use zbeam_devices::pl011::Pl011;
use zbeam_devices::s5l::S5lUart;

/// Which UART driver the console uses, with its register base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartDevice {
    /// No console (yet): output is dropped.
    None,
    /// A PL011 at this base address.
    Pl011(usize),
    /// An Apple s5l UART at this base address.
    AppleS5l(usize),
}

/// The console device, set once during boot (0 = none, else encoded kind|base).
static DEVICE: AtomicUsize = AtomicUsize::new(0);
const KIND_PL011: usize = 1;
const KIND_S5L: usize = 2;

static LOCK: Mutex<()> = Mutex::new(());

/// Selects the console UART and initialises it.
pub fn set_device(dev: UartDevice) {
    let encoded = match dev {
        UartDevice::None => 0,
        UartDevice::Pl011(base) => {
            pl011(base).init();
            base | KIND_PL011
        }
        UartDevice::AppleS5l(base) => {
            s5l(base).init();
            base | KIND_S5L
        }
    };
    // Release: the UART's initialisation happens before anyone sees the device.
    DEVICE.store(encoded, Ordering::Release);
}

/// The console device in use.
pub fn device() -> UartDevice {
    // Acquire: pairs with the Release in set_device.
    let v = DEVICE.load(Ordering::Acquire);
    match v & 0xf {
        KIND_PL011 => UartDevice::Pl011(v & !0xf),
        KIND_S5L => UartDevice::AppleS5l(v & !0xf),
        _ => UartDevice::None,
    }
}

fn pl011(base: usize) -> Pl011<Mmio> {
    // SAFETY: the device tree (or the documented QEMU fallback) names a PL011 here,
    // mapped Device-nGnRnE.
    Pl011::new(unsafe { Mmio::new(base) })
}

fn s5l(base: usize) -> S5lUart<Mmio> {
    // SAFETY: the device tree names an s5l UART here, mapped Device-nGnRnE.
    S5lUart::new(unsafe { Mmio::new(base) })
}

fn write_byte_raw(b: u8) {
    match device() {
        UartDevice::Pl011(base) => pl011(base).write_byte(b),
        UartDevice::AppleS5l(base) => s5l(base).write_byte(b),
        UartDevice::None => {}
    }
}

/// Reads one received byte straight from the UART, if any.
pub fn read_byte_raw() -> Option<u8> {
    match device() {
        UartDevice::Pl011(base) => pl011(base).read_byte(),
        UartDevice::AppleS5l(base) => s5l(base).read_byte(),
        UartDevice::None => None,
    }
}

struct Raw;

impl Write for Raw {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                write_byte_raw(b'\r');
            }
            write_byte_raw(b);
        }
        Ok(())
    }
}

/// Prints with the console lock held and interrupts masked.
pub fn print(args: fmt::Arguments<'_>) {
    let saved = cpu::irq_save();
    {
        let _guard = LOCK.lock();
        let _ = Raw.write_fmt(args);
    }
    cpu::irq_restore(saved);
}

/// Writes raw bytes (process output: no newline translation) under the lock.
pub fn write_bytes(bytes: &[u8]) {
    let saved = cpu::irq_save();
    {
        let _guard = LOCK.lock();
        for &b in bytes {
            write_byte_raw(b);
        }
    }
    cpu::irq_restore(saved);
}

/// Prints without the lock: for the panic path only, after other cores are stopped.
pub fn print_unlocked(args: fmt::Arguments<'_>) {
    let _ = Raw.write_fmt(args);
}

/// Acknowledges the UART's receive interrupts (before draining it: see
/// `line::on_rx_interrupt`).
pub fn ack_rx_interrupt() {
    match device() {
        UartDevice::Pl011(base) => pl011(base).ack_interrupts(),
        UartDevice::AppleS5l(base) => s5l(base).ack_interrupts(),
        UartDevice::None => {}
    }
}

/// `print!` to the serial console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

/// `println!` to the serial console.
#[macro_export]
macro_rules! println {
    () => { $crate::console::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}
