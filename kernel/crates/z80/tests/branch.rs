//! `Bus::branch`: every branch instruction reports its decision once, with the address
//! of its opcode byte, the PC it leaves and whether it jumped; nothing else reports.

use zbeam_z80::{Bus, Cpu};

struct Recorder {
    mem: Vec<u8>,
    seen: Vec<(u16, u16, bool)>,
}

impl Bus for Recorder {
    fn read(&mut self, addr: u16) -> u8 {
        self.mem[addr as usize]
    }
    fn write(&mut self, addr: u16, value: u8) {
        self.mem[addr as usize] = value;
    }
    fn input(&mut self, _port: u16) -> u8 {
        0xFF
    }
    fn output(&mut self, _port: u16, _value: u8) {}
    fn branch(&mut self, from: u16, to: u16, taken: bool) {
        self.seen.push((from, to, taken));
    }
}

/// Runs `program` at 0100h for `n` instructions; returns what the bus was told and the CPU.
fn run(program: &[(u16, &[u8])], n: u64) -> (Vec<(u16, u16, bool)>, Cpu) {
    let mut bus = Recorder { mem: vec![0; 0x1_0000], seen: Vec::new() };
    for (at, bytes) in program {
        bus.mem[*at as usize..*at as usize + bytes.len()].copy_from_slice(bytes);
    }
    let mut cpu = Cpu::new();
    cpu.pc = 0x100;
    cpu.sp = 0x8000;
    cpu.f = 0;
    let res = cpu.run(&mut bus, n);
    assert_eq!(res.instructions, n);
    (bus.seen, cpu)
}

#[test]
fn relative_and_absolute_jumps_report_their_decision() {
    // 0100 LD B,2; 0102 DJNZ 0102 (taken once, then not); 0104 XOR A (Z set);
    // 0105 JR NZ,+2 (not taken); 0107 JP Z,0200 (taken); 0200 JP NZ,0000 (not taken);
    // 0203 JP 0100 (taken, backward).
    let (seen, cpu) = run(
        &[
            (0x100, &[0x06, 0x02, 0x10, 0xFE, 0xAF, 0x20, 0x02, 0xCA, 0x00, 0x02]),
            (0x200, &[0xC2, 0x00, 0x00, 0xC3, 0x00, 0x01]),
        ],
        8,
    );
    assert_eq!(
        seen,
        vec![
            (0x102, 0x102, true),
            (0x102, 0x104, false),
            (0x105, 0x107, false),
            (0x107, 0x200, true),
            (0x200, 0x203, false),
            (0x203, 0x100, true),
        ]
    );
    assert_eq!(cpu.pc, 0x100);
}

#[test]
fn calls_returns_restarts_and_register_jumps_report() {
    // 0100 CALL 0300; 0300 RET Z (not taken: Z clear); 0301 RET (to 0103);
    // 0103 RST 28h; 0028 LD HL,0400; 002B JP (HL); 0400 LD IX,0500; 0404 JP (IX)
    // (opcode byte at 0405); 0500 CALL NZ,0300 (taken); 0300 RET Z (not taken);
    // 0301 RET (to 0503); 0503 CALL Z,0000 (not taken).
    let program: &[(u16, &[u8])] = &[
        (0x100, &[0xCD, 0x00, 0x03, 0xEF]),
        (0x300, &[0xC8, 0xC9]),
        (0x028, &[0x21, 0x00, 0x04, 0xE9]),
        (0x400, &[0xDD, 0x21, 0x00, 0x05, 0xDD, 0xE9]),
        (0x500, &[0xC4, 0x00, 0x03, 0xCC, 0x00, 0x00]),
    ];
    let (seen, cpu) = run(program, 12);
    assert_eq!(
        seen,
        vec![
            (0x100, 0x300, true),
            (0x300, 0x301, false),
            (0x301, 0x103, true),
            (0x103, 0x028, true),
            (0x02B, 0x400, true),
            (0x405, 0x500, true),
            (0x500, 0x300, true),
            (0x300, 0x301, false),
            (0x301, 0x503, true),
            (0x503, 0x506, false),
        ]
    );
    assert_eq!(cpu.pc, 0x506);
}

#[test]
fn retn_reports_and_straight_line_code_and_block_repeats_do_not() {
    // 0100 LD HL,0700; LD DE,0800; LD BC,0003; LDIR (repeats twice, reports nothing);
    // 010B PUSH HL... : push 0200 and RETN (opcode byte at 0110).
    let program: &[(u16, &[u8])] = &[(
        0x100,
        &[0x21, 0x00, 0x07, 0x11, 0x00, 0x08, 0x01, 0x03, 0x00, 0xED, 0xB0, 0x21, 0x00, 0x02, 0xE5, 0xED, 0x45],
    )];
    let (seen, cpu) = run(program, 9);
    assert_eq!(seen, vec![(0x110, 0x200, true)]);
    assert_eq!(cpu.pc, 0x200);
}
