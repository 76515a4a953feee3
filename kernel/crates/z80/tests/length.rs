//! `instruction_length` against the interpreter: for every opcode (unprefixed, CB,
//! ED, DD/FD, DD/FD CB, prefix chains, DD ED), the bytes the CPU fetches
//! (`Bus::fetch`) in one step, under both flag settings, are exactly
//! `pc..pc + instruction_length`, and nothing else is fetched.

use std::collections::BTreeSet;
use zbeam_z80::{instruction_length, Bus, Cpu};

struct Fetches {
    mem: Vec<u8>,
    fetched: BTreeSet<u16>,
}

impl Bus for Fetches {
    fn read(&mut self, addr: u16) -> u8 {
        self.mem[addr as usize]
    }
    fn write(&mut self, addr: u16, value: u8) {
        // Keep the instruction under test intact (some store into their own bytes).
        if !(0x8000..0x8100).contains(&addr) {
            self.mem[addr as usize] = value;
        }
    }
    fn input(&mut self, _port: u16) -> u8 {
        0xFF
    }
    fn output(&mut self, _port: u16, _value: u8) {}
    fn fetch(&mut self, addr: u16) -> u8 {
        self.fetched.insert(addr);
        self.mem[addr as usize]
    }
}

const PC: u16 = 0x8000;

/// The bytes fetched by one step of `code` at 8000h, over runs with the flags clear
/// and set and B at 1 and 2 (so every conditional branch goes both ways).
fn fetched(code: &[u8]) -> BTreeSet<u16> {
    let mut all = BTreeSet::new();
    for (f, b) in [(0x00u8, 1u8), (0xFF, 2), (0x00, 2), (0xFF, 1)] {
        let mut mem = vec![0u8; 0x1_0000];
        mem[PC as usize..PC as usize + code.len()].copy_from_slice(code);
        let mut bus = Fetches { mem, fetched: BTreeSet::new() };
        let mut cpu = Cpu::new();
        cpu.pc = PC;
        cpu.sp = 0xC000;
        cpu.f = f;
        cpu.b = b;
        cpu.set_hl(0x4000);
        cpu.ix = 0x4100;
        cpu.iy = 0x4200;
        cpu.step(&mut bus);
        all.extend(bus.fetched);
    }
    all
}

fn check(code: &[u8]) {
    let len = instruction_length(|a| code.get(a.wrapping_sub(PC) as usize).copied().unwrap_or(0), PC);
    let want: BTreeSet<u16> = (0..len).map(|i| PC + i as u16).collect();
    assert_eq!(fetched(code), want, "{code:02X?}: length {len}");
}

#[test]
fn every_unprefixed_cb_and_ed_instruction() {
    for op in 0..=255u8 {
        match op {
            0xCB | 0xDD | 0xED | 0xFD => {}
            _ => check(&[op, 0x12, 0x34, 0x56]),
        }
        check(&[0xCB, op, 0x12, 0x34]);
        check(&[0xED, op, 0x12, 0x34, 0x56]);
    }
}

#[test]
fn every_indexed_instruction() {
    for prefix in [0xDD, 0xFD] {
        for op in 0..=255u8 {
            if op != 0xDD && op != 0xFD {
                check(&[prefix, op, 0x05, 0x34, 0x56]);
            }
            check(&[prefix, 0xCB, 0x05, op, 0x56]);
            check(&[prefix, 0xED, op, 0x34, 0x56, 0x78]);
        }
    }
}

#[test]
fn prefix_chains_count_whole() {
    for op in [0x00, 0x21, 0x36, 0x7E, 0xCB, 0xE9, 0x46] {
        check(&[0xDD, 0xFD, 0xDD, op, 0x05, 0x34, 0x56]);
        check(&[0xFD, 0xFD, op, 0x05, 0x06, 0x56]);
    }
}
