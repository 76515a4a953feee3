//! The unprefixed, CB and ED opcode pages.
//!
//! What: one `match` arm per opcode for the unprefixed page (the hot path), each
//! returning its T-states; the CB page decoded by the x/y/z fields of the opcode
//! (z80.info's "Decoding Z80 opcodes"); the ED page including its undocumented
//! mirrors (NEG, RETN, IM), `IN F,(C)`, `OUT (C),0` and the 8 T "ED NOPs".
//!
//! Why explicit arms: the compiler turns the outer `match` into one jump table and
//! each arm uses fixed register fields, so no second dispatch on a register
//! index happens for the common opcodes. Timings are the Z80 CPU User Manual's;
//! MEMPTR and block-instruction flags follow "The Undocumented Z80 Documented"
//! (sections 4.2 and 5) and the FUSE test vectors. The further X/Y, H and P/V
//! changes Patrik Rak found (2018) in the repeating step of LDIR/CPIR/INIR/OTIR
//! and their decrementing forms are deliberately not applied: the FUSE 1.7.0
//! vectors expect the older behaviour (`edb2_1` stops mid-INIR with X taken from
//! B, not from PC), and zexall does not look at it.

use crate::alu::{CF, HF, NF, PF, SF, SZXY, SZXYP, XF, YF, ZF};
use crate::cpu::{Cpu, SIG_EI_DELAY, SIG_HALTED};
use crate::Bus;

impl Cpu {
    /// Register by its 3-bit code (6, the (HL) slot, is never passed; it maps to F).
    #[inline(always)]
    pub(crate) fn reg8(&self, r: u8) -> u8 {
        match r & 7 {
            0 => self.b,
            1 => self.c,
            2 => self.d,
            3 => self.e,
            4 => self.h,
            5 => self.l,
            6 => self.f,
            _ => self.a,
        }
    }

    /// Sets a register by its 3-bit code (6, the (HL) slot, is ignored).
    #[inline(always)]
    pub(crate) fn set_reg8(&mut self, r: u8, v: u8) {
        match r & 7 {
            0 => self.b = v,
            1 => self.c = v,
            2 => self.d = v,
            3 => self.e = v,
            4 => self.h = v,
            5 => self.l = v,
            6 => {}
            _ => self.a = v,
        }
    }

    /// JR/DJNZ body. A branch not taken only steps over the displacement: the
    /// chip's read cycle of that byte has no effect, and the FUSE vectors log no
    /// read for it either.
    #[inline(always)]
    fn jr<B: Bus>(&mut self, bus: &mut B, taken: bool) -> u64 {
        let from = self.pc.wrapping_sub(1);
        if taken {
            let d = self.imm8(bus) as i8;
            self.pc = self.pc.wrapping_add(d as u16);
            self.wz = self.pc;
            bus.branch(from, self.pc, true);
            12
        } else {
            self.pc = self.pc.wrapping_add(1);
            bus.branch(from, self.pc, false);
            7
        }
    }

    #[inline(always)]
    fn jp<B: Bus>(&mut self, bus: &mut B, taken: bool) -> u64 {
        let from = self.pc.wrapping_sub(1);
        let nn = self.imm16(bus);
        self.wz = nn;
        if taken {
            self.pc = nn;
        }
        bus.branch(from, self.pc, taken);
        10
    }

    #[inline(always)]
    fn call<B: Bus>(&mut self, bus: &mut B, taken: bool) -> u64 {
        let from = self.pc.wrapping_sub(1);
        let nn = self.imm16(bus);
        self.wz = nn;
        if taken {
            let pc = self.pc;
            self.push16(bus, pc);
            self.pc = nn;
            bus.branch(from, nn, true);
            17
        } else {
            bus.branch(from, self.pc, false);
            10
        }
    }

    #[inline(always)]
    fn ret_cc<B: Bus>(&mut self, bus: &mut B, taken: bool) -> u64 {
        let from = self.pc.wrapping_sub(1);
        if taken {
            self.pc = self.pop16(bus);
            self.wz = self.pc;
            bus.branch(from, self.pc, true);
            11
        } else {
            bus.branch(from, self.pc, false);
            5
        }
    }

    /// RET, RETI and RETN's transfer (their opcode byte is the one before PC).
    #[inline(always)]
    pub(crate) fn ret<B: Bus>(&mut self, bus: &mut B) {
        let from = self.pc.wrapping_sub(1);
        self.pc = self.pop16(bus);
        self.wz = self.pc;
        bus.branch(from, self.pc, true);
    }

    /// `JP (HL)`, `JP (IX)`, `JP (IY)` (their opcode byte is the one before PC).
    #[inline(always)]
    pub(crate) fn jp_to<B: Bus>(&mut self, bus: &mut B, target: u16) {
        let from = self.pc.wrapping_sub(1);
        self.pc = target;
        bus.branch(from, target, true);
    }

    #[inline(always)]
    pub(crate) fn rst<B: Bus>(&mut self, bus: &mut B, target: u16) -> u64 {
        let pc = self.pc;
        self.push16(bus, pc);
        self.pc = target;
        self.wz = target;
        bus.branch(pc.wrapping_sub(1), target, true);
        11
    }

    /// SCF and CCF: X/Y = ((Q ^ F) | A), Q as the previous instruction left it
    /// (F if it ended where this one starts, see `Cpu::q`).
    #[inline(always)]
    fn scf_ccf(&mut self, ccf: bool) {
        let f = self.f;
        let qp = if self.q_end == self.pc.wrapping_sub(1) { f } else { 0 };
        let xy = ((qp ^ f) | self.a) & (XF | YF);
        let mut nf = (f & (SF | ZF | PF)) | xy;
        if ccf {
            nf |= ((f & CF) << 4) | ((f & CF) ^ CF);
        } else {
            nf |= CF;
        }
        self.set_flags(nf);
    }

    /// Executes the unprefixed opcode `op` (already fetched) and returns its T-states.
    #[inline(always)]
    pub(crate) fn exec<B: Bus>(&mut self, bus: &mut B, op: u8) -> u64 {
        match op {
            0x00 => 4,
            0x01 => {
                let v = self.imm16(bus);
                self.set_bc(v);
                10
            }
            0x02 => {
                let a = self.bc();
                bus.write(a, self.a);
                self.wz = u16::from_be_bytes([self.a, a.wrapping_add(1) as u8]);
                7
            }
            0x03 => {
                self.set_bc(self.bc().wrapping_add(1));
                6
            }
            0x04 => {
                self.b = self.inc8(self.b);
                4
            }
            0x05 => {
                self.b = self.dec8(self.b);
                4
            }
            0x06 => {
                self.b = self.imm8(bus);
                7
            }
            0x07 => {
                self.a = self.a.rotate_left(1);
                self.set_flags((self.f & (SF | ZF | PF)) | (self.a & (XF | YF | CF)));
                4
            }
            0x08 => {
                let af = self.af();
                self.set_af(self.af_alt);
                self.af_alt = af;
                4
            }
            0x09 => {
                let v = self.add16(self.hl(), self.bc());
                self.set_hl(v);
                11
            }
            0x0A => {
                let a = self.bc();
                self.a = bus.read(a);
                self.wz = a.wrapping_add(1);
                7
            }
            0x0B => {
                self.set_bc(self.bc().wrapping_sub(1));
                6
            }
            0x0C => {
                self.c = self.inc8(self.c);
                4
            }
            0x0D => {
                self.c = self.dec8(self.c);
                4
            }
            0x0E => {
                self.c = self.imm8(bus);
                7
            }
            0x0F => {
                let c = self.a & CF;
                self.a = self.a.rotate_right(1);
                self.set_flags((self.f & (SF | ZF | PF)) | (self.a & (XF | YF)) | c);
                4
            }
            0x10 => {
                self.b = self.b.wrapping_sub(1);
                let b = self.b;
                self.jr(bus, b != 0) + 1
            }
            0x11 => {
                let v = self.imm16(bus);
                self.set_de(v);
                10
            }
            0x12 => {
                let a = self.de();
                bus.write(a, self.a);
                self.wz = u16::from_be_bytes([self.a, a.wrapping_add(1) as u8]);
                7
            }
            0x13 => {
                self.set_de(self.de().wrapping_add(1));
                6
            }
            0x14 => {
                self.d = self.inc8(self.d);
                4
            }
            0x15 => {
                self.d = self.dec8(self.d);
                4
            }
            0x16 => {
                self.d = self.imm8(bus);
                7
            }
            0x17 => {
                let c = self.a >> 7;
                self.a = (self.a << 1) | (self.f & CF);
                self.set_flags((self.f & (SF | ZF | PF)) | (self.a & (XF | YF)) | c);
                4
            }
            0x18 => self.jr(bus, true),
            0x19 => {
                let v = self.add16(self.hl(), self.de());
                self.set_hl(v);
                11
            }
            0x1A => {
                let a = self.de();
                self.a = bus.read(a);
                self.wz = a.wrapping_add(1);
                7
            }
            0x1B => {
                self.set_de(self.de().wrapping_sub(1));
                6
            }
            0x1C => {
                self.e = self.inc8(self.e);
                4
            }
            0x1D => {
                self.e = self.dec8(self.e);
                4
            }
            0x1E => {
                self.e = self.imm8(bus);
                7
            }
            0x1F => {
                let c = self.a & CF;
                self.a = (self.a >> 1) | (self.f << 7);
                self.set_flags((self.f & (SF | ZF | PF)) | (self.a & (XF | YF)) | c);
                4
            }
            0x20 => {
                let t = self.f & ZF == 0;
                self.jr(bus, t)
            }
            0x21 => {
                let v = self.imm16(bus);
                self.set_hl(v);
                10
            }
            0x22 => {
                let nn = self.imm16(bus);
                Self::write16(bus, nn, self.hl());
                self.wz = nn.wrapping_add(1);
                16
            }
            0x23 => {
                self.set_hl(self.hl().wrapping_add(1));
                6
            }
            0x24 => {
                self.h = self.inc8(self.h);
                4
            }
            0x25 => {
                self.h = self.dec8(self.h);
                4
            }
            0x26 => {
                self.h = self.imm8(bus);
                7
            }
            0x27 => {
                self.daa();
                4
            }
            0x28 => {
                let t = self.f & ZF != 0;
                self.jr(bus, t)
            }
            0x29 => {
                let v = self.add16(self.hl(), self.hl());
                self.set_hl(v);
                11
            }
            0x2A => {
                let nn = self.imm16(bus);
                let v = Self::read16(bus, nn);
                self.set_hl(v);
                self.wz = nn.wrapping_add(1);
                16
            }
            0x2B => {
                self.set_hl(self.hl().wrapping_sub(1));
                6
            }
            0x2C => {
                self.l = self.inc8(self.l);
                4
            }
            0x2D => {
                self.l = self.dec8(self.l);
                4
            }
            0x2E => {
                self.l = self.imm8(bus);
                7
            }
            0x2F => {
                self.a = !self.a;
                self.set_flags((self.f & (SF | ZF | PF | CF)) | HF | NF | (self.a & (XF | YF)));
                4
            }
            0x30 => {
                let t = self.f & CF == 0;
                self.jr(bus, t)
            }
            0x31 => {
                self.sp = self.imm16(bus);
                10
            }
            0x32 => {
                let nn = self.imm16(bus);
                bus.write(nn, self.a);
                self.wz = u16::from_be_bytes([self.a, nn.wrapping_add(1) as u8]);
                13
            }
            0x33 => {
                self.sp = self.sp.wrapping_add(1);
                6
            }
            0x34 => {
                let a = self.hl();
                let v = bus.read(a);
                let r = self.inc8(v);
                bus.write(a, r);
                11
            }
            0x35 => {
                let a = self.hl();
                let v = bus.read(a);
                let r = self.dec8(v);
                bus.write(a, r);
                11
            }
            0x36 => {
                let n = self.imm8(bus);
                bus.write(self.hl(), n);
                10
            }
            0x37 => {
                self.scf_ccf(false);
                4
            }
            0x38 => {
                let t = self.f & CF != 0;
                self.jr(bus, t)
            }
            0x39 => {
                let v = self.add16(self.hl(), self.sp);
                self.set_hl(v);
                11
            }
            0x3A => {
                let nn = self.imm16(bus);
                self.a = bus.read(nn);
                self.wz = nn.wrapping_add(1);
                13
            }
            0x3B => {
                self.sp = self.sp.wrapping_sub(1);
                6
            }
            0x3C => {
                self.a = self.inc8(self.a);
                4
            }
            0x3D => {
                self.a = self.dec8(self.a);
                4
            }
            0x3E => {
                self.a = self.imm8(bus);
                7
            }
            0x3F => {
                self.scf_ccf(true);
                4
            }
            0x76 => {
                // HALT: PC stays on the opcode; NOPs run until an interrupt.
                self.pc = self.pc.wrapping_sub(1);
                self.signals |= SIG_HALTED;
                4
            }
            0x40 => 4,
            0x41 => {
                self.b = self.c;
                4
            }
            0x42 => {
                self.b = self.d;
                4
            }
            0x43 => {
                self.b = self.e;
                4
            }
            0x44 => {
                self.b = self.h;
                4
            }
            0x45 => {
                self.b = self.l;
                4
            }
            0x46 => {
                self.b = bus.read(self.hl());
                7
            }
            0x47 => {
                self.b = self.a;
                4
            }
            0x48 => {
                self.c = self.b;
                4
            }
            0x49 => 4,
            0x4A => {
                self.c = self.d;
                4
            }
            0x4B => {
                self.c = self.e;
                4
            }
            0x4C => {
                self.c = self.h;
                4
            }
            0x4D => {
                self.c = self.l;
                4
            }
            0x4E => {
                self.c = bus.read(self.hl());
                7
            }
            0x4F => {
                self.c = self.a;
                4
            }
            0x50 => {
                self.d = self.b;
                4
            }
            0x51 => {
                self.d = self.c;
                4
            }
            0x52 => 4,
            0x53 => {
                self.d = self.e;
                4
            }
            0x54 => {
                self.d = self.h;
                4
            }
            0x55 => {
                self.d = self.l;
                4
            }
            0x56 => {
                self.d = bus.read(self.hl());
                7
            }
            0x57 => {
                self.d = self.a;
                4
            }
            0x58 => {
                self.e = self.b;
                4
            }
            0x59 => {
                self.e = self.c;
                4
            }
            0x5A => {
                self.e = self.d;
                4
            }
            0x5B => 4,
            0x5C => {
                self.e = self.h;
                4
            }
            0x5D => {
                self.e = self.l;
                4
            }
            0x5E => {
                self.e = bus.read(self.hl());
                7
            }
            0x5F => {
                self.e = self.a;
                4
            }
            0x60 => {
                self.h = self.b;
                4
            }
            0x61 => {
                self.h = self.c;
                4
            }
            0x62 => {
                self.h = self.d;
                4
            }
            0x63 => {
                self.h = self.e;
                4
            }
            0x64 => 4,
            0x65 => {
                self.h = self.l;
                4
            }
            0x66 => {
                self.h = bus.read(self.hl());
                7
            }
            0x67 => {
                self.h = self.a;
                4
            }
            0x68 => {
                self.l = self.b;
                4
            }
            0x69 => {
                self.l = self.c;
                4
            }
            0x6A => {
                self.l = self.d;
                4
            }
            0x6B => {
                self.l = self.e;
                4
            }
            0x6C => {
                self.l = self.h;
                4
            }
            0x6D => 4,
            0x6E => {
                self.l = bus.read(self.hl());
                7
            }
            0x6F => {
                self.l = self.a;
                4
            }
            0x70 => {
                bus.write(self.hl(), self.b);
                7
            }
            0x71 => {
                bus.write(self.hl(), self.c);
                7
            }
            0x72 => {
                bus.write(self.hl(), self.d);
                7
            }
            0x73 => {
                bus.write(self.hl(), self.e);
                7
            }
            0x74 => {
                bus.write(self.hl(), self.h);
                7
            }
            0x75 => {
                bus.write(self.hl(), self.l);
                7
            }
            0x77 => {
                bus.write(self.hl(), self.a);
                7
            }
            0x78 => {
                self.a = self.b;
                4
            }
            0x79 => {
                self.a = self.c;
                4
            }
            0x7A => {
                self.a = self.d;
                4
            }
            0x7B => {
                self.a = self.e;
                4
            }
            0x7C => {
                self.a = self.h;
                4
            }
            0x7D => {
                self.a = self.l;
                4
            }
            0x7E => {
                self.a = bus.read(self.hl());
                7
            }
            0x7F => 4,
            0x80 => {
                self.add8(self.b);
                4
            }
            0x81 => {
                self.add8(self.c);
                4
            }
            0x82 => {
                self.add8(self.d);
                4
            }
            0x83 => {
                self.add8(self.e);
                4
            }
            0x84 => {
                self.add8(self.h);
                4
            }
            0x85 => {
                self.add8(self.l);
                4
            }
            0x86 => {
                let v = bus.read(self.hl());
                self.add8(v);
                7
            }
            0x87 => {
                self.add8(self.a);
                4
            }
            0x88 => {
                self.adc8(self.b);
                4
            }
            0x89 => {
                self.adc8(self.c);
                4
            }
            0x8A => {
                self.adc8(self.d);
                4
            }
            0x8B => {
                self.adc8(self.e);
                4
            }
            0x8C => {
                self.adc8(self.h);
                4
            }
            0x8D => {
                self.adc8(self.l);
                4
            }
            0x8E => {
                let v = bus.read(self.hl());
                self.adc8(v);
                7
            }
            0x8F => {
                self.adc8(self.a);
                4
            }
            0x90 => {
                self.sub8(self.b);
                4
            }
            0x91 => {
                self.sub8(self.c);
                4
            }
            0x92 => {
                self.sub8(self.d);
                4
            }
            0x93 => {
                self.sub8(self.e);
                4
            }
            0x94 => {
                self.sub8(self.h);
                4
            }
            0x95 => {
                self.sub8(self.l);
                4
            }
            0x96 => {
                let v = bus.read(self.hl());
                self.sub8(v);
                7
            }
            0x97 => {
                self.sub8(self.a);
                4
            }
            0x98 => {
                self.sbc8(self.b);
                4
            }
            0x99 => {
                self.sbc8(self.c);
                4
            }
            0x9A => {
                self.sbc8(self.d);
                4
            }
            0x9B => {
                self.sbc8(self.e);
                4
            }
            0x9C => {
                self.sbc8(self.h);
                4
            }
            0x9D => {
                self.sbc8(self.l);
                4
            }
            0x9E => {
                let v = bus.read(self.hl());
                self.sbc8(v);
                7
            }
            0x9F => {
                self.sbc8(self.a);
                4
            }
            0xA0 => {
                self.and8(self.b);
                4
            }
            0xA1 => {
                self.and8(self.c);
                4
            }
            0xA2 => {
                self.and8(self.d);
                4
            }
            0xA3 => {
                self.and8(self.e);
                4
            }
            0xA4 => {
                self.and8(self.h);
                4
            }
            0xA5 => {
                self.and8(self.l);
                4
            }
            0xA6 => {
                let v = bus.read(self.hl());
                self.and8(v);
                7
            }
            0xA7 => {
                self.and8(self.a);
                4
            }
            0xA8 => {
                self.xor8(self.b);
                4
            }
            0xA9 => {
                self.xor8(self.c);
                4
            }
            0xAA => {
                self.xor8(self.d);
                4
            }
            0xAB => {
                self.xor8(self.e);
                4
            }
            0xAC => {
                self.xor8(self.h);
                4
            }
            0xAD => {
                self.xor8(self.l);
                4
            }
            0xAE => {
                let v = bus.read(self.hl());
                self.xor8(v);
                7
            }
            0xAF => {
                self.xor8(self.a);
                4
            }
            0xB0 => {
                self.or8(self.b);
                4
            }
            0xB1 => {
                self.or8(self.c);
                4
            }
            0xB2 => {
                self.or8(self.d);
                4
            }
            0xB3 => {
                self.or8(self.e);
                4
            }
            0xB4 => {
                self.or8(self.h);
                4
            }
            0xB5 => {
                self.or8(self.l);
                4
            }
            0xB6 => {
                let v = bus.read(self.hl());
                self.or8(v);
                7
            }
            0xB7 => {
                self.or8(self.a);
                4
            }
            0xB8 => {
                self.cp8(self.b);
                4
            }
            0xB9 => {
                self.cp8(self.c);
                4
            }
            0xBA => {
                self.cp8(self.d);
                4
            }
            0xBB => {
                self.cp8(self.e);
                4
            }
            0xBC => {
                self.cp8(self.h);
                4
            }
            0xBD => {
                self.cp8(self.l);
                4
            }
            0xBE => {
                let v = bus.read(self.hl());
                self.cp8(v);
                7
            }
            0xBF => {
                self.cp8(self.a);
                4
            }
            0xC0 => {
                let t = self.f & ZF == 0;
                self.ret_cc(bus, t)
            }
            0xC1 => {
                let v = self.pop16(bus);
                self.set_bc(v);
                10
            }
            0xC2 => {
                let t = self.f & ZF == 0;
                self.jp(bus, t)
            }
            0xC3 => self.jp(bus, true),
            0xC4 => {
                let t = self.f & ZF == 0;
                self.call(bus, t)
            }
            0xC5 => {
                let v = self.bc();
                self.push16(bus, v);
                11
            }
            0xC6 => {
                let v = self.imm8(bus);
                self.add8(v);
                7
            }
            0xC8 => {
                let t = self.f & ZF != 0;
                self.ret_cc(bus, t)
            }
            0xC9 => {
                self.ret(bus);
                10
            }
            0xCA => {
                let t = self.f & ZF != 0;
                self.jp(bus, t)
            }
            0xCB => self.exec_cb(bus),
            0xCC => {
                let t = self.f & ZF != 0;
                self.call(bus, t)
            }
            0xCD => self.call(bus, true),
            0xCE => {
                let v = self.imm8(bus);
                self.adc8(v);
                7
            }
            0xD0 => {
                let t = self.f & CF == 0;
                self.ret_cc(bus, t)
            }
            0xD1 => {
                let v = self.pop16(bus);
                self.set_de(v);
                10
            }
            0xD2 => {
                let t = self.f & CF == 0;
                self.jp(bus, t)
            }
            0xD3 => {
                let n = self.imm8(bus);
                let a = self.a;
                bus.output(u16::from_be_bytes([a, n]), a);
                self.wz = u16::from_be_bytes([a, n.wrapping_add(1)]);
                11
            }
            0xD4 => {
                let t = self.f & CF == 0;
                self.call(bus, t)
            }
            0xD5 => {
                let v = self.de();
                self.push16(bus, v);
                11
            }
            0xD6 => {
                let v = self.imm8(bus);
                self.sub8(v);
                7
            }
            0xD8 => {
                let t = self.f & CF != 0;
                self.ret_cc(bus, t)
            }
            0xD9 => {
                let (bc, de, hl) = (self.bc(), self.de(), self.hl());
                self.set_bc(self.bc_alt);
                self.set_de(self.de_alt);
                self.set_hl(self.hl_alt);
                self.bc_alt = bc;
                self.de_alt = de;
                self.hl_alt = hl;
                4
            }
            0xDA => {
                let t = self.f & CF != 0;
                self.jp(bus, t)
            }
            0xDB => {
                let n = self.imm8(bus);
                let port = u16::from_be_bytes([self.a, n]);
                self.a = bus.input(port);
                self.wz = port.wrapping_add(1);
                11
            }
            0xDC => {
                let t = self.f & CF != 0;
                self.call(bus, t)
            }
            0xDD => self.exec_xy::<false, B>(bus),
            0xDE => {
                let v = self.imm8(bus);
                self.sbc8(v);
                7
            }
            0xE0 => {
                let t = self.f & PF == 0;
                self.ret_cc(bus, t)
            }
            0xE1 => {
                let v = self.pop16(bus);
                self.set_hl(v);
                10
            }
            0xE2 => {
                let t = self.f & PF == 0;
                self.jp(bus, t)
            }
            0xE3 => {
                let v = Self::read16(bus, self.sp);
                let sp = self.sp;
                bus.write(sp.wrapping_add(1), self.h);
                bus.write(sp, self.l);
                self.set_hl(v);
                self.wz = v;
                19
            }
            0xE4 => {
                let t = self.f & PF == 0;
                self.call(bus, t)
            }
            0xE5 => {
                let v = self.hl();
                self.push16(bus, v);
                11
            }
            0xE6 => {
                let v = self.imm8(bus);
                self.and8(v);
                7
            }
            0xE8 => {
                let t = self.f & PF != 0;
                self.ret_cc(bus, t)
            }
            0xE9 => {
                let hl = self.hl();
                self.jp_to(bus, hl);
                4
            }
            0xEA => {
                let t = self.f & PF != 0;
                self.jp(bus, t)
            }
            0xEB => {
                let (de, hl) = (self.de(), self.hl());
                self.set_de(hl);
                self.set_hl(de);
                4
            }
            0xEC => {
                let t = self.f & PF != 0;
                self.call(bus, t)
            }
            0xED => self.exec_ed(bus),
            0xEE => {
                let v = self.imm8(bus);
                self.xor8(v);
                7
            }
            0xF0 => {
                let t = self.f & SF == 0;
                self.ret_cc(bus, t)
            }
            0xF1 => {
                let v = self.pop16(bus);
                self.set_af(v);
                10
            }
            0xF2 => {
                let t = self.f & SF == 0;
                self.jp(bus, t)
            }
            0xF3 => {
                self.iff1 = false;
                self.iff2 = false;
                4
            }
            0xF4 => {
                let t = self.f & SF == 0;
                self.call(bus, t)
            }
            0xF5 => {
                let v = self.af();
                self.push16(bus, v);
                11
            }
            0xF6 => {
                let v = self.imm8(bus);
                self.or8(v);
                7
            }
            0xF8 => {
                let t = self.f & SF != 0;
                self.ret_cc(bus, t)
            }
            0xF9 => {
                self.sp = self.hl();
                6
            }
            0xFA => {
                let t = self.f & SF != 0;
                self.jp(bus, t)
            }
            0xFB => {
                self.iff1 = true;
                self.iff2 = true;
                self.signals |= SIG_EI_DELAY;
                4
            }
            0xFC => {
                let t = self.f & SF != 0;
                self.call(bus, t)
            }
            0xFD => self.exec_xy::<true, B>(bus),
            0xFE => {
                let v = self.imm8(bus);
                self.cp8(v);
                7
            }
            0xC7 | 0xCF | 0xD7 | 0xDF | 0xE7 | 0xEF | 0xF7 | 0xFF => self.rst(bus, (op & 0x38) as u16),
        }
    }

    /// The CB page: rotates/shifts, BIT, RES, SET on a register or (HL).
    #[inline(never)]
    fn exec_cb<B: Bus>(&mut self, bus: &mut B) -> u64 {
        let op = self.fetch_op(bus);
        let y = (op >> 3) & 7;
        let z = op & 7;
        if z == 6 {
            let a = self.hl();
            let v = bus.read(a);
            let r = match op >> 6 {
                0 => self.rot(y, v),
                1 => {
                    let xy = (self.wz >> 8) as u8;
                    self.bit(y, v, xy);
                    return 12;
                }
                2 => v & !(1 << y),
                _ => v | (1 << y),
            };
            bus.write(a, r);
            15
        } else {
            let v = self.reg8(z);
            let r = match op >> 6 {
                0 => self.rot(y, v),
                1 => {
                    self.bit(y, v, v);
                    return 8;
                }
                2 => v & !(1 << y),
                _ => v | (1 << y),
            };
            self.set_reg8(z, r);
            8
        }
    }

    /// Flags of INI/IND/OUTI/OUTD ("The Undocumented Z80 Documented", 4.3):
    /// S, Z, X, Y from the decremented B; N from bit 7 of the data; H and C when
    /// `data + k` carries out of 8 bits; P/V the parity of `((data + k) & 7) ^ B`.
    #[inline(always)]
    fn block_io_flags(&mut self, data: u8, k: u8) {
        let sum = data as u16 + k as u16;
        let b = self.b;
        let mut f = SZXY[b as usize] | ((data >> 6) & NF);
        if sum > 0xFF {
            f |= HF | CF;
        }
        f |= SZXYP[((sum as u8) & 7 ^ b) as usize] & PF;
        self.set_flags(f);
    }

    /// The ED page.
    #[inline(never)]
    fn exec_ed<B: Bus>(&mut self, bus: &mut B) -> u64 {
        let op = self.fetch_op(bus);
        match op {
            0x40 | 0x48 | 0x50 | 0x58 | 0x60 | 0x68 | 0x70 | 0x78 => {
                // IN r,(C); ED 70 is IN F,(C): flags only.
                let bc = self.bc();
                let v = bus.input(bc);
                self.wz = bc.wrapping_add(1);
                self.set_flags((self.f & CF) | SZXYP[v as usize]);
                let r = (op >> 3) & 7;
                if r != 6 {
                    self.set_reg8(r, v);
                }
                12
            }
            0x41 | 0x49 | 0x51 | 0x59 | 0x61 | 0x69 | 0x71 | 0x79 => {
                // OUT (C),r; ED 71 outputs 0 on an NMOS Z80.
                let r = (op >> 3) & 7;
                let v = if r == 6 { 0 } else { self.reg8(r) };
                let bc = self.bc();
                bus.output(bc, v);
                self.wz = bc.wrapping_add(1);
                12
            }
            0x42 => {
                self.sbc16(self.bc());
                15
            }
            0x52 => {
                self.sbc16(self.de());
                15
            }
            0x62 => {
                self.sbc16(self.hl());
                15
            }
            0x72 => {
                self.sbc16(self.sp);
                15
            }
            0x4A => {
                self.adc16(self.bc());
                15
            }
            0x5A => {
                self.adc16(self.de());
                15
            }
            0x6A => {
                self.adc16(self.hl());
                15
            }
            0x7A => {
                self.adc16(self.sp);
                15
            }
            0x43 | 0x53 | 0x63 | 0x73 => {
                let nn = self.imm16(bus);
                let v = match op {
                    0x43 => self.bc(),
                    0x53 => self.de(),
                    0x63 => self.hl(),
                    _ => self.sp,
                };
                Self::write16(bus, nn, v);
                self.wz = nn.wrapping_add(1);
                20
            }
            0x4B | 0x5B | 0x6B | 0x7B => {
                let nn = self.imm16(bus);
                let v = Self::read16(bus, nn);
                match op {
                    0x4B => self.set_bc(v),
                    0x5B => self.set_de(v),
                    0x6B => self.set_hl(v),
                    _ => self.sp = v,
                }
                self.wz = nn.wrapping_add(1);
                20
            }
            0x44 | 0x4C | 0x54 | 0x5C | 0x64 | 0x6C | 0x74 | 0x7C => {
                let v = self.a;
                self.a = 0;
                self.sub8(v);
                8
            }
            0x45 | 0x4D | 0x55 | 0x5D | 0x65 | 0x6D | 0x75 | 0x7D => {
                // RETN (and RETI, 4D): IFF1 <- IFF2.
                self.iff1 = self.iff2;
                self.ret(bus);
                14
            }
            0x46 | 0x4E | 0x66 | 0x6E => {
                self.im = 0;
                8
            }
            0x56 | 0x76 => {
                self.im = 1;
                8
            }
            0x5E | 0x7E => {
                self.im = 2;
                8
            }
            0x47 => {
                self.i = self.a;
                9
            }
            0x4F => {
                self.set_r(self.a);
                9
            }
            0x57 | 0x5F => {
                self.a = if op == 0x57 { self.i } else { self.r() };
                let p = if self.iff2 { PF } else { 0 };
                self.set_flags((self.f & CF) | SZXY[self.a as usize] | p);
                9
            }
            0x67 => {
                // RRD
                let a = self.hl();
                let v = bus.read(a);
                bus.write(a, (self.a << 4) | (v >> 4));
                self.a = (self.a & 0xF0) | (v & 0x0F);
                self.set_flags((self.f & CF) | SZXYP[self.a as usize]);
                self.wz = a.wrapping_add(1);
                18
            }
            0x6F => {
                // RLD
                let a = self.hl();
                let v = bus.read(a);
                bus.write(a, (v << 4) | (self.a & 0x0F));
                self.a = (self.a & 0xF0) | (v >> 4);
                self.set_flags((self.f & CF) | SZXYP[self.a as usize]);
                self.wz = a.wrapping_add(1);
                18
            }
            0xA0 | 0xA8 | 0xB0 | 0xB8 => {
                // LDI, LDD, LDIR, LDDR
                let hl = self.hl();
                let de = self.de();
                let v = bus.read(hl);
                bus.write(de, v);
                let step = if op & 0x08 == 0 { 1u16 } else { 0xFFFF };
                self.set_hl(hl.wrapping_add(step));
                self.set_de(de.wrapping_add(step));
                let bc = self.bc().wrapping_sub(1);
                self.set_bc(bc);
                let n = v.wrapping_add(self.a);
                let mut f = (self.f & (SF | ZF | CF)) | (n & XF) | ((n << 4) & YF);
                if bc != 0 {
                    f |= PF;
                }
                self.set_flags(f);
                if op & 0x10 != 0 && bc != 0 {
                    self.pc = self.pc.wrapping_sub(2);
                    self.wz = self.pc.wrapping_add(1);
                    21
                } else {
                    16
                }
            }
            0xA1 | 0xA9 | 0xB1 | 0xB9 => {
                // CPI, CPD, CPIR, CPDR
                let hl = self.hl();
                let v = bus.read(hl);
                let r = self.a.wrapping_sub(v);
                let h = (self.a ^ v ^ r) & HF;
                let n = r.wrapping_sub(h >> 4);
                if op & 0x08 == 0 {
                    self.set_hl(hl.wrapping_add(1));
                    self.wz = self.wz.wrapping_add(1);
                } else {
                    self.set_hl(hl.wrapping_sub(1));
                    self.wz = self.wz.wrapping_sub(1);
                }
                let bc = self.bc().wrapping_sub(1);
                self.set_bc(bc);
                let mut f = (self.f & CF) | NF | (SZXY[r as usize] & (SF | ZF)) | h;
                f |= (n & XF) | ((n << 4) & YF);
                if bc != 0 {
                    f |= PF;
                }
                self.set_flags(f);
                if op & 0x10 != 0 && bc != 0 && r != 0 {
                    self.pc = self.pc.wrapping_sub(2);
                    self.wz = self.pc.wrapping_add(1);
                    21
                } else {
                    16
                }
            }
            0xA2 | 0xAA | 0xB2 | 0xBA => {
                // INI, IND, INIR, INDR
                let bc = self.bc();
                let v = bus.input(bc);
                let hl = self.hl();
                bus.write(hl, v);
                self.b = self.b.wrapping_sub(1);
                let k = if op & 0x08 == 0 {
                    self.set_hl(hl.wrapping_add(1));
                    self.wz = bc.wrapping_add(1);
                    self.c.wrapping_add(1)
                } else {
                    self.set_hl(hl.wrapping_sub(1));
                    self.wz = bc.wrapping_sub(1);
                    self.c.wrapping_sub(1)
                };
                self.block_io_flags(v, k);
                if op & 0x10 != 0 && self.b != 0 {
                    self.pc = self.pc.wrapping_sub(2);
                    21
                } else {
                    16
                }
            }
            0xA3 | 0xAB | 0xB3 | 0xBB => {
                // OUTI, OUTD, OTIR, OTDR: B is decremented before the port is driven.
                let hl = self.hl();
                let v = bus.read(hl);
                self.b = self.b.wrapping_sub(1);
                let bc = self.bc();
                bus.output(bc, v);
                if op & 0x08 == 0 {
                    self.set_hl(hl.wrapping_add(1));
                    self.wz = bc.wrapping_add(1);
                } else {
                    self.set_hl(hl.wrapping_sub(1));
                    self.wz = bc.wrapping_sub(1);
                }
                let l = self.l;
                self.block_io_flags(v, l);
                if op & 0x10 != 0 && self.b != 0 {
                    self.pc = self.pc.wrapping_sub(2);
                    21
                } else {
                    16
                }
            }
            // Everything else on the ED page is an 8 T no-operation.
            _ => 8,
        }
    }
}
