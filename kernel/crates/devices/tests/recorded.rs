//! Each driver's register sequence against a recorded expectation, on a fake bus that
//! logs every access and answers reads from a script.

mod common;

use common::Access::{R, W};
use common::FakeBus;
use zbeam_devices::aic::{Aic, AicError, Event, Layout};
use zbeam_devices::s5l::{self, S5lUart};

#[test]
fn s5l_init_keeps_line_settings_and_enables_rx_interrupts() {
    let bus = FakeBus::default().script(s5l::UCON, &[0x0000_5f05]);
    let uart = S5lUart::new(&bus);
    uart.init();
    // 0x5f05 | RXMODE 1 | TXMODE 1<<2 | RXTHRESH 1<<12 | RXTO 1<<9.
    assert_eq!(bus.take_log(), vec![R(0x04, 0x5f05), W(0x04, 0x5f05 | 0x1 | 0x4 | 0x1000 | 0x200), W(0x10, 0x210)]);
}

#[test]
fn s5l_write_waits_for_an_empty_transmit_buffer() {
    // TX buffer busy twice, then empty.
    let bus = FakeBus::default().script(s5l::UTRSTAT, &[0, 0, s5l::Status::TXBE.bits()]);
    S5lUart::new(&bus).write_byte(b'Z');
    assert_eq!(bus.take_log(), vec![R(0x10, 0), R(0x10, 0), R(0x10, 2), W(0x20, b'Z' as u32)]);
}

#[test]
fn s5l_read_uses_the_fifo_count_and_acks() {
    let bus = FakeBus::default().script(s5l::UFSTAT, &[2, 0]).script(s5l::URXH, &[b'a' as u32, b'b' as u32]);
    let uart = S5lUart::new(&bus);
    assert_eq!(uart.read_byte(), Some(b'a'));
    assert_eq!(bus.take_log(), vec![R(0x18, 2), R(0x24, b'a' as u32)]);
    // FIFO now empty and no RXD: nothing read from URXH.
    assert_eq!(uart.read_byte(), None);
    assert_eq!(bus.take_log(), vec![R(0x18, 0), R(0x10, 0)]);
    uart.ack_interrupts();
    assert_eq!(bus.take_log(), vec![W(0x10, 0x210)]);
}

#[test]
fn aic1_probe_masks_everything_then_routes_and_unmasks() {
    // 64 IRQs: two mask words.
    let bus = FakeBus::default().script(0x0004, &[64]);
    let aic = Aic::new_v1(&bus).expect("probe");
    assert_eq!(aic.layout(), Layout::V1 { nr_irq: 64 });
    assert_eq!(
        bus.take_log(),
        vec![R(0x0004, 64), W(0x4100, u32::MAX), W(0x4080, u32::MAX), W(0x4104, u32::MAX), W(0x4084, u32::MAX),]
    );
    // The M1 UART's IRQ in the tree is 0x25d... too large for a 64-IRQ fake; use 37.
    aic.enable(0, 37, 0b1).expect("enable");
    assert_eq!(bus.take_log(), vec![W(0x3000 + 4 * 37, 1), W(0x4184, 1 << 5)]);
    assert_eq!(aic.enable(0, 64, 1), Err(AicError::NoSuchIrq { die: 0, num: 64 }));
    assert!(bus.take_log().is_empty(), "a rejected IRQ touches no register");
}

#[test]
fn aic1_events_decode_and_unmask() {
    let bus = FakeBus::default().script(0x0004, &[0x380]).script(0x2004, &[0x0001_025d, 0x0004_0001, 0]);
    let aic = Aic::new_v1(&bus).expect("probe");
    bus.take_log();
    assert_eq!(aic.ack(), Some(Event::Hw { die: 0, num: 0x25d }));
    aic.unmask(0, 0x25d).expect("unmask");
    assert_eq!(aic.ack(), Some(Event::Ipi(1)));
    assert_eq!(aic.ack(), None);
    assert_eq!(
        bus.take_log(),
        vec![
            R(0x2004, 0x0001_025d),
            W(0x4180 + 4 * (0x25d / 32), 1 << (0x25d % 32)),
            R(0x2004, 0x0004_0001),
            R(0x2004, 0)
        ]
    );
}

#[test]
fn aic1_rejects_a_nonsense_irq_count() {
    let bus = FakeBus::default().script(0x0004, &[0]);
    assert!(matches!(Aic::new_v1(&bus), Err(AicError::BadIrqCount(0))));
    let bus = FakeBus::default().script(0x0004, &[0xffff]);
    assert!(matches!(Aic::new_v1(&bus), Err(AicError::BadIrqCount(0xffff))));
}

#[test]
fn aic2_layout_follows_max_irq_and_dies() {
    // One die (last die 0), 0x3a0 IRQs present, max 0x400 -> 32 words per array.
    let bus = FakeBus::default().script(0x0004, &[0x0000_03a0]).script(0x000c, &[0x0100_0400]).script(0x0014, &[0x10]);
    let aic = Aic::new_v2(&bus, 0xc000).expect("probe");
    assert_eq!(aic.layout(), Layout::V2 { nr_irq: 0x3a0, nr_die: 1, max_irq: 0x400, event: 0xc000 });
    let log = bus.take_log();
    // IRQ_CFG 0x2000..0x3000, SW_SET 0x3000, SW_CLR 0x3080, MASK_SET 0x3100, MASK_CLR 0x3180.
    assert_eq!(&log[..2], &[R(0x0004, 0x3a0), R(0x000c, 0x0100_0400)]);
    let words = 0x3a0usize.div_ceil(32);
    for w in 0..words {
        assert_eq!(log[2 + 2 * w], W(0x3100 + 4 * w, u32::MAX));
        assert_eq!(log[3 + 2 * w], W(0x3080 + 4 * w, u32::MAX));
    }
    assert_eq!(&log[2 + 2 * words..], &[R(0x0014, 0x10), W(0x0014, 0x11)]);
    // Unmask IRQ 0x2b8 (an M1 Pro device IRQ): MASK_CLR word 21, bit 24; no target write.
    aic.enable(0, 0x2b8, 0xff).expect("enable");
    assert_eq!(bus.take_log(), vec![W(0x3180 + 4 * 21, 1 << 24)]);
}

#[test]
fn aic2_second_die_uses_the_die_stride_and_separate_event_register() {
    // Two dies, max 0x400: die stride = 0x1000 (cfg) + 5 * 0x80 = 0x1280.
    let bus = FakeBus::default()
        .script(0x0004, &[0x0100_0200])
        .script(0x000c, &[0x0100_0400])
        .script(0xc000, &[0x0101_0005, 0]);
    let aic = Aic::new_v2(&bus, 0xc000).expect("probe");
    bus.take_log();
    assert_eq!(aic.ack(), Some(Event::Hw { die: 1, num: 5 }));
    aic.unmask(1, 5).expect("unmask");
    assert_eq!(aic.ack(), None);
    assert_eq!(bus.take_log(), vec![R(0xc000, 0x0101_0005), W(0x3180 + 0x1280, 1 << 5), R(0xc000, 0)]);
    assert_eq!(aic.unmask(2, 5), Err(AicError::NoSuchIrq { die: 2, num: 5 }));
}

#[test]
fn aic2_rejects_inconsistent_info() {
    // nr_irq > max_irq.
    let bus = FakeBus::default().script(0x0004, &[0x500]).script(0x000c, &[0x400]);
    assert!(matches!(Aic::new_v2(&bus, 0xc000), Err(AicError::BadIrqCount(_))));
    // Too many dies.
    let bus = FakeBus::default().script(0x0004, &[0x0f00_0100]).script(0x000c, &[0x400]);
    assert!(matches!(Aic::new_v2(&bus, 0xc000), Err(AicError::BadDieCount(16))));
}
