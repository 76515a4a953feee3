//! ARM PrimeCell PL011 UART: the console on QEMU virt.
//!
//! Register offsets and fields from the PrimeCell UART (PL011) Technical Reference
//! Manual, ARM DDI 0183G, section 3.3 (register descriptions); the fields are
//! tock-registers bitfields, applied to values read and written through the bus.
//! QEMU's model needs no baud-rate setup; real parts get 8N1 with FIFOs at whatever
//! divisor firmware set.

use crate::RegisterBus;
use tock_registers::fields::FieldValue;
use tock_registers::{register_bitfields, LocalRegisterCopy, RegisterLongName};

/// UARTDR: data.
pub const DR: usize = 0x00;
/// UARTFR: flags.
pub const FR: usize = 0x18;
/// UARTLCR_H: line control.
pub const LCR_H: usize = 0x2c;
/// UARTCR: control.
pub const CR: usize = 0x30;
/// UARTIMSC: interrupt mask set/clear.
pub const IMSC: usize = 0x38;
/// UARTICR: interrupt clear.
pub const ICR: usize = 0x44;

register_bitfields! {
    u32,
    /// Flag register, UARTFR (TRM 3.3.3).
    Flags [
        /// Transmit FIFO full: no room for another byte.
        TXFF OFFSET(5) NUMBITS(1) [],
        /// Receive FIFO empty: nothing to read.
        RXFE OFFSET(4) NUMBITS(1) [],
        /// UART busy transmitting.
        BUSY OFFSET(3) NUMBITS(1) []
    ],
    /// Line control register, UARTLCR_H (TRM 3.3.7).
    LineControl [
        /// Word length: 0b11 = 8 bits.
        WLEN OFFSET(5) NUMBITS(2) [EightBit = 0b11],
        /// Enable the transmit and receive FIFOs.
        FEN OFFSET(4) NUMBITS(1) []
    ],
    /// Control register, UARTCR (TRM 3.3.8).
    Control [
        /// Receive enable.
        RXE OFFSET(9) NUMBITS(1) [],
        /// Transmit enable.
        TXE OFFSET(8) NUMBITS(1) [],
        /// UART enable.
        UARTEN OFFSET(0) NUMBITS(1) []
    ],
    /// Interrupt mask set/clear register, UARTIMSC (TRM 3.3.10).
    InterruptMask [
        /// Receive timeout interrupt mask (1 = enabled).
        RTIM OFFSET(6) NUMBITS(1) [],
        /// Receive interrupt mask (1 = enabled).
        RXIM OFFSET(4) NUMBITS(1) []
    ],
    /// Interrupt clear register, UARTICR (TRM 3.3.14).
    InterruptClear [
        /// Clear all interrupts.
        ALL OFFSET(0) NUMBITS(11) []
    ]
}

/// A PL011 on a register bus.
pub struct Pl011<B> {
    bus: B,
}

impl<B: RegisterBus> Pl011<B> {
    /// A driver for the UART behind `bus`.
    pub const fn new(bus: B) -> Self {
        Pl011 { bus }
    }

    fn flags(&self) -> LocalRegisterCopy<u32, Flags::Register> {
        LocalRegisterCopy::new(self.bus.read32(FR))
    }

    fn write<R: RegisterLongName>(&self, offset: usize, value: FieldValue<u32, R>) {
        self.bus.write32(offset, value.value);
    }

    /// 8N1 with FIFOs, transmit and receive enabled; receive interrupts on.
    pub fn init(&self) {
        // Drain the transmitter before touching the line settings (TRM 3.3.8 note).
        while self.flags().is_set(Flags::BUSY) {
            core::hint::spin_loop();
        }
        self.bus.write32(CR, 0);
        self.write(ICR, InterruptClear::ALL::SET);
        self.write(LCR_H, LineControl::WLEN::EightBit + LineControl::FEN::SET);
        self.write(IMSC, InterruptMask::RXIM::SET + InterruptMask::RTIM::SET);
        self.write(CR, Control::UARTEN::SET + Control::TXE::SET + Control::RXE::SET);
    }

    /// Writes one byte, waiting for FIFO room.
    pub fn write_byte(&self, b: u8) {
        while self.flags().is_set(Flags::TXFF) {
            core::hint::spin_loop();
        }
        self.bus.write32(DR, b as u32);
    }

    /// Reads one byte if the receive FIFO holds one.
    pub fn read_byte(&self) -> Option<u8> {
        if self.flags().is_set(Flags::RXFE) {
            None
        } else {
            Some(self.bus.read32(DR) as u8)
        }
    }

    /// Acknowledges receive interrupts (reading the FIFO empty also clears them).
    pub fn ack_interrupts(&self) {
        self.write(ICR, InterruptClear::ALL::SET);
    }
}
