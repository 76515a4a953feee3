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

bitflags::bitflags! {
    /// UTRSTAT: transmit/receive status. The interrupt bits are cleared by writing 1.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Status: u32 {
        /// Bit 0: receive data ready.
        const RXD = 1 << 0;
        /// Bit 1: transmit buffer empty.
        const TXBE = 1 << 1;
        /// Bit 4: receive threshold interrupt pending.
        const RXTHRESH = 1 << 4;
        /// Bit 9: receive timeout interrupt pending.
        const RXTO = 1 << 9;
        // The other bits are kept as read.
        const _ = !0;
    }

    /// UCON: control. The driver sets these bits and keeps the rest (the line
    /// settings firmware chose) as read.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Control: u32 {
        /// Bits 1:0, receive mode: 1 = interrupt/polling.
        const RXMODE_IRQ = 1;
        /// Bits 3:2, transmit mode: 1 = interrupt/polling.
        const TXMODE_IRQ = 1 << 2;
        /// Bit 9: receive timeout interrupt enable.
        const RXTO_ENA = 1 << 9;
        /// Bit 12: receive threshold interrupt enable.
        const RXTHRESH_ENA = 1 << 12;
        // The other bits are kept as read.
        const _ = !0;
    }

    /// UFSTAT: FIFO status.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct FifoStatus: u32 {
        /// Bits 3:0: bytes in the receive FIFO (any set bit means at least one).
        const RXCNT = 0xf;
        /// Bit 8: receive FIFO full.
        const RXFULL = 1 << 8;
        /// Bit 9: transmit FIFO full.
        const TXFULL = 1 << 9;
        // The other bits are kept as read.
        const _ = !0;
    }
}

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
        let ucon = Control::from_bits_retain(self.bus.read32(UCON))
            | Control::RXMODE_IRQ
            | Control::TXMODE_IRQ
            | Control::RXTHRESH_ENA
            | Control::RXTO_ENA;
        self.bus.write32(UCON, ucon.bits());
        self.ack_interrupts();
    }

    /// Writes one byte once the transmit buffer has room.
    pub fn write_byte(&self, b: u8) {
        while !self.status().contains(Status::TXBE) {
            core::hint::spin_loop();
        }
        self.bus.write32(UTXH, b as u32);
    }

    /// Reads one byte if one has arrived.
    pub fn read_byte(&self) -> Option<u8> {
        let fifo = FifoStatus::from_bits_retain(self.bus.read32(UFSTAT));
        if !fifo.intersects(FifoStatus::RXCNT | FifoStatus::RXFULL) && !self.status().contains(Status::RXD) {
            return None;
        }
        Some(self.bus.read32(URXH) as u8)
    }

    /// Acknowledges the receive interrupts (write-one-to-clear).
    pub fn ack_interrupts(&self) {
        self.bus.write32(UTRSTAT, (Status::RXTHRESH | Status::RXTO).bits());
    }

    fn status(&self) -> Status {
        Status::from_bits_retain(self.bus.read32(UTRSTAT))
    }
}
