//! ARM PrimeCell PL011 UART: the console on QEMU virt.
//!
//! Register layout and fields from the PrimeCell UART (PL011) Technical Reference
//! Manual, ARM DDI 0183G, section 3.3 (register descriptions). QEMU's model needs no
//! baud-rate setup; real parts get 8N1 with FIFOs at whatever divisor firmware set.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

register_bitfields! {
    u32,
    /// Flag register, UARTFR (TRM 3.3.3).
    FR [
        /// Transmit FIFO full: no room for another byte.
        TXFF OFFSET(5) NUMBITS(1) [],
        /// Receive FIFO empty: nothing to read.
        RXFE OFFSET(4) NUMBITS(1) [],
        /// UART busy transmitting.
        BUSY OFFSET(3) NUMBITS(1) []
    ],
    /// Line control register, UARTLCR_H (TRM 3.3.7).
    LCR_H [
        /// Word length: 0b11 = 8 bits.
        WLEN OFFSET(5) NUMBITS(2) [EightBit = 0b11],
        /// Enable the transmit and receive FIFOs.
        FEN OFFSET(4) NUMBITS(1) []
    ],
    /// Control register, UARTCR (TRM 3.3.8).
    CR [
        /// Receive enable.
        RXE OFFSET(9) NUMBITS(1) [],
        /// Transmit enable.
        TXE OFFSET(8) NUMBITS(1) [],
        /// UART enable.
        UARTEN OFFSET(0) NUMBITS(1) []
    ],
    /// Interrupt mask set/clear register, UARTIMSC (TRM 3.3.10).
    IMSC [
        /// Receive timeout interrupt mask (1 = enabled).
        RTIM OFFSET(6) NUMBITS(1) [],
        /// Receive interrupt mask (1 = enabled).
        RXIM OFFSET(4) NUMBITS(1) []
    ],
    /// Interrupt clear register, UARTICR (TRM 3.3.14).
    ICR [
        /// Clear all interrupts.
        ALL OFFSET(0) NUMBITS(11) []
    ]
}

/// The PL011 register block.
#[repr(C)]
pub struct Registers {
    /// 0x00 UARTDR: data.
    dr: ReadWrite<u32>,
    _rsrecr: u32,
    _reserved0: [u32; 4],
    /// 0x18 UARTFR: flags.
    fr: ReadOnly<u32, FR::Register>,
    _reserved1: u32,
    _ilpr: u32,
    /// 0x24 UARTIBRD: integer baud divisor.
    _ibrd: u32,
    /// 0x28 UARTFBRD: fractional baud divisor.
    _fbrd: u32,
    /// 0x2C UARTLCR_H: line control.
    lcr_h: ReadWrite<u32, LCR_H::Register>,
    /// 0x30 UARTCR: control.
    cr: ReadWrite<u32, CR::Register>,
    /// 0x34 UARTIFLS: FIFO level select.
    _ifls: u32,
    /// 0x38 UARTIMSC: interrupt mask.
    imsc: ReadWrite<u32, IMSC::Register>,
    /// 0x3C UARTRIS.
    _ris: u32,
    /// 0x40 UARTMIS.
    _mis: u32,
    /// 0x44 UARTICR: interrupt clear.
    icr: WriteOnly<u32, ICR::Register>,
}

/// A PL011 at a fixed MMIO address.
pub struct Pl011 {
    base: usize,
}

impl Pl011 {
    /// # Safety
    /// `base` must be the address of a PL011 register block, mapped Device memory,
    /// used by nothing else except through this driver.
    pub const unsafe fn new(base: usize) -> Self {
        Pl011 { base }
    }

    fn regs(&self) -> &Registers {
        // SAFETY: `new`'s contract: base is a mapped PL011 block.
        unsafe { &*(self.base as *const Registers) }
    }

    /// 8N1 with FIFOs, transmit and receive enabled; receive interrupts on.
    pub fn init(&self) {
        let r = self.regs();
        // Drain the transmitter before touching the line settings (TRM 3.3.8 note).
        while r.fr.is_set(FR::BUSY) {}
        r.cr.set(0);
        r.icr.write(ICR::ALL::SET);
        r.lcr_h.write(LCR_H::WLEN::EightBit + LCR_H::FEN::SET);
        r.imsc.write(IMSC::RXIM::SET + IMSC::RTIM::SET);
        r.cr.write(CR::UARTEN::SET + CR::TXE::SET + CR::RXE::SET);
    }

    /// Writes one byte, waiting for FIFO room.
    pub fn write_byte(&self, b: u8) {
        let r = self.regs();
        while r.fr.is_set(FR::TXFF) {
            core::hint::spin_loop();
        }
        r.dr.set(b as u32);
    }

    /// Reads one byte if the receive FIFO holds one.
    pub fn read_byte(&self) -> Option<u8> {
        let r = self.regs();
        if r.fr.is_set(FR::RXFE) {
            None
        } else {
            Some(r.dr.get() as u8)
        }
    }

    /// Acknowledges receive interrupts (reading the FIFO empty also clears them).
    pub fn ack_interrupts(&self) {
        self.regs().icr.write(ICR::ALL::SET);
    }
}

const _: () = assert!(core::mem::offset_of!(Registers, fr) == 0x18);
const _: () = assert!(core::mem::offset_of!(Registers, lcr_h) == 0x2c);
const _: () = assert!(core::mem::offset_of!(Registers, imsc) == 0x38);
const _: () = assert!(core::mem::offset_of!(Registers, icr) == 0x44);
