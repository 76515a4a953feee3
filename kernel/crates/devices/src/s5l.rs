//! The Samsung-derived UART of Apple SoCs (`apple,s5l-uart`).
//!
//! Registers and bits as documented by the Asahi Linux project (m1n1 `uart_regs.h`,
//! Linux `samsung_tty.c` Apple variant): UCON 0x04, UTRSTAT 0x10 (bit 0 RX data, bit 1
//! TX buffer empty, bit 4 RX threshold, bit 9 RX timeout; interrupt bits are cleared by
//! writing 1), UFSTAT 0x18, UTXH 0x20, URXH 0x24. m1n1 leaves the UART configured
//! (115200 8N1, FIFOs on), so the driver keeps the line settings and only turns on the
//! receive interrupts.

use crate::RegisterBus;

/// UCON: control.
pub const UCON: usize = 0x04;
/// UTRSTAT: transmit/receive status.
pub const UTRSTAT: usize = 0x10;
/// UFSTAT: FIFO status.
pub const UFSTAT: usize = 0x18;
/// UTXH: transmit holding register.
pub const UTXH: usize = 0x20;
/// URXH: receive holding register.
pub const URXH: usize = 0x24;

/// UTRSTAT bit 0: receive data ready.
pub const UTRSTAT_RXD: u32 = 1 << 0;
/// UTRSTAT bit 1: transmit buffer empty.
pub const UTRSTAT_TXBE: u32 = 1 << 1;
/// UTRSTAT bit 4: receive threshold interrupt pending.
pub const UTRSTAT_RXTHRESH: u32 = 1 << 4;
/// UTRSTAT bit 9: receive timeout interrupt pending.
pub const UTRSTAT_RXTO: u32 = 1 << 9;
/// UCON bit 12: receive threshold interrupt enable.
pub const UCON_RXTHRESH_ENA: u32 = 1 << 12;
/// UCON bit 9: receive timeout interrupt enable.
pub const UCON_RXTO_ENA: u32 = 1 << 9;
/// UCON bits 1:0: receive mode (1 = interrupt/polling).
pub const UCON_RXMODE_IRQ: u32 = 1;
/// UCON bits 3:2: transmit mode (1 = interrupt/polling).
pub const UCON_TXMODE_IRQ: u32 = 1 << 2;
/// UFSTAT bit 9: transmit FIFO full.
pub const UFSTAT_TXFULL: u32 = 1 << 9;
/// UFSTAT bits 3:0: bytes in the receive FIFO.
pub const UFSTAT_RXCNT: u32 = 0xf;
/// UFSTAT bit 8: receive FIFO full.
pub const UFSTAT_RXFULL: u32 = 1 << 8;

/// An s5l UART on a register bus.
pub struct S5lUart<B> {
    bus: B,
}

impl<B: RegisterBus> S5lUart<B> {
    /// A driver for the UART behind `bus`.
    pub const fn new(bus: B) -> Self {
        S5lUart { bus }
    }

    /// Enables receive interrupts (threshold and timeout), keeping the line settings
    /// firmware chose, and clears stale interrupt status.
    pub fn init(&self) {
        let ucon = self.bus.read32(UCON);
        self.bus.write32(UCON, ucon | UCON_RXMODE_IRQ | UCON_TXMODE_IRQ | UCON_RXTHRESH_ENA | UCON_RXTO_ENA);
        self.bus.write32(UTRSTAT, UTRSTAT_RXTHRESH | UTRSTAT_RXTO);
    }

    /// Writes one byte once the transmit buffer has room.
    pub fn write_byte(&self, b: u8) {
        while self.bus.read32(UTRSTAT) & UTRSTAT_TXBE == 0 {
            core::hint::spin_loop();
        }
        self.bus.write32(UTXH, b as u32);
    }

    /// Reads one byte if one has arrived.
    pub fn read_byte(&self) -> Option<u8> {
        let fifo = self.bus.read32(UFSTAT);
        if fifo & (UFSTAT_RXCNT | UFSTAT_RXFULL) == 0 && self.bus.read32(UTRSTAT) & UTRSTAT_RXD == 0 {
            return None;
        }
        Some(self.bus.read32(URXH) as u8)
    }

    /// Acknowledges the receive interrupts (write-one-to-clear).
    pub fn ack_interrupts(&self) {
        self.bus.write32(UTRSTAT, UTRSTAT_RXTHRESH | UTRSTAT_RXTO);
    }
}
