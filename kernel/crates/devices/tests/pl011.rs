//! PL011 register sequences against recorded expectations (ARM DDI 0183G 3.3), on the
//! fake bus.

mod common;

use common::Access::{R, W};
use common::FakeBus;
use zbeam_devices::pl011::{self, Pl011};

const BUSY: u32 = 1 << 3;
const RXFE: u32 = 1 << 4;
const TXFF: u32 = 1 << 5;

#[test]
fn init_drains_then_sets_8n1_fifos_and_receive_interrupts() {
    let bus = FakeBus::default().script(pl011::FR, &[BUSY, BUSY, 0]);
    Pl011::new(&bus).init();
    assert_eq!(
        bus.take_log(),
        vec![
            R(0x18, BUSY),
            R(0x18, BUSY),
            R(0x18, 0),
            W(0x30, 0),                   // UART off while reprogrammed
            W(0x44, 0x7ff),               // clear every interrupt
            W(0x2c, 0b11 << 5 | 1 << 4),  // 8 bits, FIFOs on
            W(0x38, 1 << 4 | 1 << 6),     // RX and RX timeout interrupts
            W(0x30, 1 | 1 << 8 | 1 << 9), // UART, TX and RX enabled
        ]
    );
}

#[test]
fn write_waits_for_fifo_room() {
    let bus = FakeBus::default().script(pl011::FR, &[TXFF, 0]);
    Pl011::new(&bus).write_byte(b'x');
    assert_eq!(bus.take_log(), vec![R(0x18, TXFF), R(0x18, 0), W(0x00, b'x' as u32)]);
}

#[test]
fn read_takes_a_byte_only_when_the_fifo_holds_one_and_ack_clears() {
    let bus = FakeBus::default().script(pl011::FR, &[0, RXFE]).script(pl011::DR, &[0x141]);
    let uart = Pl011::new(&bus);
    // DR carries error flags above the byte: only the byte is returned.
    assert_eq!(uart.read_byte(), Some(0x41));
    assert_eq!(uart.read_byte(), None);
    assert_eq!(bus.take_log(), vec![R(0x18, 0), R(0x00, 0x141), R(0x18, RXFE)]);
    uart.ack_interrupts();
    assert_eq!(bus.take_log(), vec![W(0x44, 0x7ff)]);
}
