//! The DD (IX) and FD (IY) pages, DDCB/FDCB, and prefix chains.
//!
//! What: one generic function per index register (`const IY: bool`), so IX and IY
//! share the code yet each gets its own monomorphised copy with no run-time
//! register selection. Opcodes that touch H, L or HL act on IXH/IXL/IX; those
//! with (HL) use (IX+d) and then keep plain H/L; every other opcode runs as if
//! unprefixed, 4 T later. DDCB/FDCB include the undocumented forms that also copy
//! the result into a register. A run of DD/FD prefixes counts as one instruction in
//! which all but the last prefix act as 4 T NOPs (R counts each), so no interrupt
//! is accepted in between, as on the real chip.
//!
//! Sources: "The Undocumented Z80 Documented" (sections 3.1-3.5), the FUSE test
//! vectors for timings of the odd cases (`dd00`, `ddfd00`).

use crate::cpu::Cpu;
use crate::Bus;

impl Cpu {
    #[inline(always)]
    pub(crate) fn xy<const IY: bool>(&self) -> u16 {
        if IY {
            self.iy
        } else {
            self.ix
        }
    }

    #[inline(always)]
    pub(crate) fn set_xy<const IY: bool>(&mut self, v: u16) {
        if IY {
            self.iy = v;
        } else {
            self.ix = v;
        }
    }

    #[inline(always)]
    fn xh<const IY: bool>(&self) -> u8 {
        (self.xy::<IY>() >> 8) as u8
    }

    #[inline(always)]
    fn xl<const IY: bool>(&self) -> u8 {
        self.xy::<IY>() as u8
    }

    #[inline(always)]
    fn set_xh<const IY: bool>(&mut self, v: u8) {
        let x = (self.xy::<IY>() & 0x00FF) | ((v as u16) << 8);
        self.set_xy::<IY>(x);
    }

    #[inline(always)]
    fn set_xl<const IY: bool>(&mut self, v: u8) {
        let x = (self.xy::<IY>() & 0xFF00) | v as u16;
        self.set_xy::<IY>(x);
    }

    /// Reads the displacement d and returns IX+d / IY+d, which also lands in MEMPTR.
    #[inline(always)]
    fn xy_disp<const IY: bool, B: Bus>(&mut self, bus: &mut B) -> u16 {
        let d = self.imm8(bus) as i8;
        let a = self.xy::<IY>().wrapping_add(d as u16);
        self.wz = a;
        a
    }

    /// Entered after a DD (IY = false) or FD (IY = true) prefix has been fetched.
    #[inline(never)]
    pub(crate) fn exec_xy<const IY: bool, B: Bus>(&mut self, bus: &mut B) -> u64 {
        let op = self.fetch_op(bus);
        if op == 0xDD || op == 0xFD {
            return self.prefix_chain(bus, op);
        }
        self.exec_xy_op::<IY, B>(bus, op)
    }

    /// A prefix followed by another DD/FD: the earlier one is a 4 T NOP. Loops (no
    /// recursion) however long the chain, then runs the opcode under the last prefix.
    #[inline(never)]
    fn prefix_chain<B: Bus>(&mut self, bus: &mut B, mut prefix: u8) -> u64 {
        let mut t = 4;
        loop {
            let op = self.fetch_op(bus);
            if op == 0xDD || op == 0xFD {
                t += 4;
                prefix = op;
                continue;
            }
            return t + if prefix == 0xDD {
                self.exec_xy_op::<false, B>(bus, op)
            } else {
                self.exec_xy_op::<true, B>(bus, op)
            };
        }
    }

    /// Executes `op` under a DD/FD prefix (never itself DD or FD).
    #[inline(always)]
    fn exec_xy_op<const IY: bool, B: Bus>(&mut self, bus: &mut B, op: u8) -> u64 {
        match op {
            0x09 => {
                let v = self.add16(self.xy::<IY>(), self.bc());
                self.set_xy::<IY>(v);
                15
            }
            0x19 => {
                let v = self.add16(self.xy::<IY>(), self.de());
                self.set_xy::<IY>(v);
                15
            }
            0x29 => {
                let x = self.xy::<IY>();
                let v = self.add16(x, x);
                self.set_xy::<IY>(v);
                15
            }
            0x39 => {
                let v = self.add16(self.xy::<IY>(), self.sp);
                self.set_xy::<IY>(v);
                15
            }
            0x21 => {
                let v = self.imm16(bus);
                self.set_xy::<IY>(v);
                14
            }
            0x22 => {
                let nn = self.imm16(bus);
                Self::write16(bus, nn, self.xy::<IY>());
                self.wz = nn.wrapping_add(1);
                20
            }
            0x23 => {
                self.set_xy::<IY>(self.xy::<IY>().wrapping_add(1));
                10
            }
            0x24 => {
                let v = self.inc8(self.xh::<IY>());
                self.set_xh::<IY>(v);
                8
            }
            0x25 => {
                let v = self.dec8(self.xh::<IY>());
                self.set_xh::<IY>(v);
                8
            }
            0x26 => {
                let v = self.imm8(bus);
                self.set_xh::<IY>(v);
                11
            }
            0x2A => {
                let nn = self.imm16(bus);
                let v = Self::read16(bus, nn);
                self.set_xy::<IY>(v);
                self.wz = nn.wrapping_add(1);
                20
            }
            0x2B => {
                self.set_xy::<IY>(self.xy::<IY>().wrapping_sub(1));
                10
            }
            0x2C => {
                let v = self.inc8(self.xl::<IY>());
                self.set_xl::<IY>(v);
                8
            }
            0x2D => {
                let v = self.dec8(self.xl::<IY>());
                self.set_xl::<IY>(v);
                8
            }
            0x2E => {
                let v = self.imm8(bus);
                self.set_xl::<IY>(v);
                11
            }
            0x34 => {
                let a = self.xy_disp::<IY, B>(bus);
                let v = bus.read(a);
                let r = self.inc8(v);
                bus.write(a, r);
                23
            }
            0x35 => {
                let a = self.xy_disp::<IY, B>(bus);
                let v = bus.read(a);
                let r = self.dec8(v);
                bus.write(a, r);
                23
            }
            0x36 => {
                let a = self.xy_disp::<IY, B>(bus);
                let n = self.imm8(bus);
                bus.write(a, n);
                19
            }
            0x44 => {
                self.b = self.xh::<IY>();
                8
            }
            0x45 => {
                self.b = self.xl::<IY>();
                8
            }
            0x46 => {
                let a = self.xy_disp::<IY, B>(bus);
                self.b = bus.read(a);
                19
            }
            0x4C => {
                self.c = self.xh::<IY>();
                8
            }
            0x4D => {
                self.c = self.xl::<IY>();
                8
            }
            0x4E => {
                let a = self.xy_disp::<IY, B>(bus);
                self.c = bus.read(a);
                19
            }
            0x54 => {
                self.d = self.xh::<IY>();
                8
            }
            0x55 => {
                self.d = self.xl::<IY>();
                8
            }
            0x56 => {
                let a = self.xy_disp::<IY, B>(bus);
                self.d = bus.read(a);
                19
            }
            0x5C => {
                self.e = self.xh::<IY>();
                8
            }
            0x5D => {
                self.e = self.xl::<IY>();
                8
            }
            0x5E => {
                let a = self.xy_disp::<IY, B>(bus);
                self.e = bus.read(a);
                19
            }
            0x60 => {
                let v = self.b;
                self.set_xh::<IY>(v);
                8
            }
            0x61 => {
                let v = self.c;
                self.set_xh::<IY>(v);
                8
            }
            0x62 => {
                let v = self.d;
                self.set_xh::<IY>(v);
                8
            }
            0x63 => {
                let v = self.e;
                self.set_xh::<IY>(v);
                8
            }
            0x64 => 8,
            0x65 => {
                let v = self.xl::<IY>();
                self.set_xh::<IY>(v);
                8
            }
            0x66 => {
                let a = self.xy_disp::<IY, B>(bus);
                self.h = bus.read(a);
                19
            }
            0x67 => {
                let v = self.a;
                self.set_xh::<IY>(v);
                8
            }
            0x68 => {
                let v = self.b;
                self.set_xl::<IY>(v);
                8
            }
            0x69 => {
                let v = self.c;
                self.set_xl::<IY>(v);
                8
            }
            0x6A => {
                let v = self.d;
                self.set_xl::<IY>(v);
                8
            }
            0x6B => {
                let v = self.e;
                self.set_xl::<IY>(v);
                8
            }
            0x6C => {
                let v = self.xh::<IY>();
                self.set_xl::<IY>(v);
                8
            }
            0x6D => 8,
            0x6E => {
                let a = self.xy_disp::<IY, B>(bus);
                self.l = bus.read(a);
                19
            }
            0x6F => {
                let v = self.a;
                self.set_xl::<IY>(v);
                8
            }
            0x70 => {
                let a = self.xy_disp::<IY, B>(bus);
                bus.write(a, self.b);
                19
            }
            0x71 => {
                let a = self.xy_disp::<IY, B>(bus);
                bus.write(a, self.c);
                19
            }
            0x72 => {
                let a = self.xy_disp::<IY, B>(bus);
                bus.write(a, self.d);
                19
            }
            0x73 => {
                let a = self.xy_disp::<IY, B>(bus);
                bus.write(a, self.e);
                19
            }
            0x74 => {
                let a = self.xy_disp::<IY, B>(bus);
                bus.write(a, self.h);
                19
            }
            0x75 => {
                let a = self.xy_disp::<IY, B>(bus);
                bus.write(a, self.l);
                19
            }
            0x77 => {
                let a = self.xy_disp::<IY, B>(bus);
                bus.write(a, self.a);
                19
            }
            0x7C => {
                self.a = self.xh::<IY>();
                8
            }
            0x7D => {
                self.a = self.xl::<IY>();
                8
            }
            0x7E => {
                let a = self.xy_disp::<IY, B>(bus);
                self.a = bus.read(a);
                19
            }
            0x84 => {
                self.add8(self.xh::<IY>());
                8
            }
            0x85 => {
                self.add8(self.xl::<IY>());
                8
            }
            0x86 => {
                let a = self.xy_disp::<IY, B>(bus);
                let v = bus.read(a);
                self.add8(v);
                19
            }
            0x8C => {
                self.adc8(self.xh::<IY>());
                8
            }
            0x8D => {
                self.adc8(self.xl::<IY>());
                8
            }
            0x8E => {
                let a = self.xy_disp::<IY, B>(bus);
                let v = bus.read(a);
                self.adc8(v);
                19
            }
            0x94 => {
                self.sub8(self.xh::<IY>());
                8
            }
            0x95 => {
                self.sub8(self.xl::<IY>());
                8
            }
            0x96 => {
                let a = self.xy_disp::<IY, B>(bus);
                let v = bus.read(a);
                self.sub8(v);
                19
            }
            0x9C => {
                self.sbc8(self.xh::<IY>());
                8
            }
            0x9D => {
                self.sbc8(self.xl::<IY>());
                8
            }
            0x9E => {
                let a = self.xy_disp::<IY, B>(bus);
                let v = bus.read(a);
                self.sbc8(v);
                19
            }
            0xA4 => {
                self.and8(self.xh::<IY>());
                8
            }
            0xA5 => {
                self.and8(self.xl::<IY>());
                8
            }
            0xA6 => {
                let a = self.xy_disp::<IY, B>(bus);
                let v = bus.read(a);
                self.and8(v);
                19
            }
            0xAC => {
                self.xor8(self.xh::<IY>());
                8
            }
            0xAD => {
                self.xor8(self.xl::<IY>());
                8
            }
            0xAE => {
                let a = self.xy_disp::<IY, B>(bus);
                let v = bus.read(a);
                self.xor8(v);
                19
            }
            0xB4 => {
                self.or8(self.xh::<IY>());
                8
            }
            0xB5 => {
                self.or8(self.xl::<IY>());
                8
            }
            0xB6 => {
                let a = self.xy_disp::<IY, B>(bus);
                let v = bus.read(a);
                self.or8(v);
                19
            }
            0xBC => {
                self.cp8(self.xh::<IY>());
                8
            }
            0xBD => {
                self.cp8(self.xl::<IY>());
                8
            }
            0xBE => {
                let a = self.xy_disp::<IY, B>(bus);
                let v = bus.read(a);
                self.cp8(v);
                19
            }
            0xCB => self.exec_xycb::<IY, B>(bus),
            0xE1 => {
                let v = self.pop16(bus);
                self.set_xy::<IY>(v);
                14
            }
            0xE3 => {
                let sp = self.sp;
                let v = Self::read16(bus, sp);
                let [lo, hi] = self.xy::<IY>().to_le_bytes();
                bus.write(sp.wrapping_add(1), hi);
                bus.write(sp, lo);
                self.set_xy::<IY>(v);
                self.wz = v;
                23
            }
            0xE5 => {
                let v = self.xy::<IY>();
                self.push16(bus, v);
                15
            }
            0xE9 => {
                let target = self.xy::<IY>();
                self.jp_to(bus, target);
                8
            }
            0xF9 => {
                self.sp = self.xy::<IY>();
                10
            }
            // Any other opcode (ED included) ignores the prefix, which cost 4 T.
            _ => 4 + self.exec(bus, op),
        }
    }

    /// DDCB d op / FDCB d op. Neither the displacement nor the final opcode byte is
    /// an M1 cycle, so R counts only the two prefixes. Non-BIT forms whose register
    /// field is not 6 also copy the result into that (plain) register.
    #[inline(never)]
    fn exec_xycb<const IY: bool, B: Bus>(&mut self, bus: &mut B) -> u64 {
        let a = self.xy_disp::<IY, B>(bus);
        let op = self.imm8(bus);
        let v = bus.read(a);
        let y = (op >> 3) & 7;
        let r = match op >> 6 {
            0 => self.rot(y, v),
            1 => {
                self.bit(y, v, (a >> 8) as u8);
                return 20;
            }
            2 => v & !(1 << y),
            _ => v | (1 << y),
        };
        bus.write(a, r);
        let z = op & 7;
        if z != 6 {
            self.set_reg8(z, r);
        }
        23
    }
}
