//! Flag bits, the flag lookup tables (built by `const fn` at compile time) and the
//! arithmetic/logic helpers shared by every opcode family.
//!
//! Why tables: S, Z, the undocumented Y (bit 5) and X (bit 3) copies of the result,
//! and parity are a pure function of the 8-bit result, so one byte load replaces
//! several operations on the hot path. Arithmetic H/V/C are computed with bit
//! operations instead (a 64 K table per operation would not stay in cache).
//! Flag definitions follow the Z80 CPU User Manual; X/Y follow Sean Young's
//! "The Undocumented Z80 Documented" (sections 4.1-4.3).

use crate::cpu::Cpu;

/// Carry.
pub const CF: u8 = 0x01;
/// Add/subtract.
pub const NF: u8 = 0x02;
/// Parity/overflow.
pub const PF: u8 = 0x04;
/// Undocumented bit 3.
pub const XF: u8 = 0x08;
/// Half carry.
pub const HF: u8 = 0x10;
/// Undocumented bit 5.
pub const YF: u8 = 0x20;
/// Zero.
pub const ZF: u8 = 0x40;
/// Sign.
pub const SF: u8 = 0x80;

const fn build(parity: bool) -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let v = i as u8;
        let mut f = v & (SF | YF | XF);
        if v == 0 {
            f |= ZF;
        }
        if parity && v.count_ones() & 1 == 0 {
            f |= PF;
        }
        t[i] = f;
        i += 1;
    }
    t
}

/// S, Z, Y, X of a result.
pub static SZXY: [u8; 256] = build(false);
/// S, Z, Y, X and even parity of a result.
pub static SZXYP: [u8; 256] = build(true);

const fn build_inc() -> [u8; 256] {
    let mut t = build(false);
    let mut i = 0;
    while i < 256 {
        if i & 0x0F == 0 {
            t[i] |= HF;
        }
        if i == 0x80 {
            t[i] |= PF;
        }
        i += 1;
    }
    t
}

const fn build_dec() -> [u8; 256] {
    let mut t = build(false);
    let mut i = 0;
    while i < 256 {
        t[i] |= NF;
        if i & 0x0F == 0x0F {
            t[i] |= HF;
        }
        if i == 0x7F {
            t[i] |= PF;
        }
        i += 1;
    }
    t
}

/// Flags of `INC r` indexed by the result, all but C.
pub static INC_F: [u8; 256] = build_inc();
/// Flags of `DEC r` indexed by the result, all but C.
pub static DEC_F: [u8; 256] = build_dec();

impl Cpu {
    /// Sets F from an instruction that computes flags, and latches Q: Q = F holds
    /// exactly while PC is still where this instruction ends (see `Cpu::q`). Every
    /// caller has fetched all its operand bytes by now.
    #[inline(always)]
    pub(crate) fn set_flags(&mut self, f: u8) {
        self.f = f;
        self.q_end = self.pc;
    }

    #[inline(always)]
    pub(crate) fn add_core(&mut self, v: u8, carry: u8) {
        let a = self.a as u32;
        let r = a + v as u32 + carry as u32;
        let r8 = r as u8;
        let ov = (((a ^ r) & (v as u32 ^ r) & 0x80) >> 5) as u8;
        self.set_flags(SZXY[r8 as usize] | ((a ^ v as u32 ^ r) as u8 & HF) | ov | (r >> 8) as u8);
        self.a = r8;
    }

    #[inline(always)]
    pub(crate) fn add8(&mut self, v: u8) {
        self.add_core(v, 0);
    }

    #[inline(always)]
    pub(crate) fn adc8(&mut self, v: u8) {
        self.add_core(v, self.f & CF);
    }

    /// A - v - carry; returns the result and the flags with X/Y from the result.
    #[inline(always)]
    fn sub_core(&self, v: u8, carry: u8) -> (u8, u8) {
        let a = self.a as u32;
        let r = a.wrapping_sub(v as u32).wrapping_sub(carry as u32);
        let r8 = r as u8;
        let ov = (((a ^ v as u32) & (a ^ r) & 0x80) >> 5) as u8;
        let f = SZXY[r8 as usize] | ((a ^ v as u32 ^ r) as u8 & HF) | ov | NF | ((r >> 8) as u8 & CF);
        (r8, f)
    }

    #[inline(always)]
    pub(crate) fn sub8(&mut self, v: u8) {
        let (r, f) = self.sub_core(v, 0);
        self.a = r;
        self.set_flags(f);
    }

    #[inline(always)]
    pub(crate) fn sbc8(&mut self, v: u8) {
        let (r, f) = self.sub_core(v, self.f & CF);
        self.a = r;
        self.set_flags(f);
    }

    /// CP: flags of A - v, but X/Y come from the operand.
    #[inline(always)]
    pub(crate) fn cp8(&mut self, v: u8) {
        let (_, f) = self.sub_core(v, 0);
        self.set_flags((f & !(XF | YF)) | (v & (XF | YF)));
    }

    #[inline(always)]
    pub(crate) fn and8(&mut self, v: u8) {
        self.a &= v;
        self.set_flags(SZXYP[self.a as usize] | HF);
    }

    #[inline(always)]
    pub(crate) fn xor8(&mut self, v: u8) {
        self.a ^= v;
        self.set_flags(SZXYP[self.a as usize]);
    }

    #[inline(always)]
    pub(crate) fn or8(&mut self, v: u8) {
        self.a |= v;
        self.set_flags(SZXYP[self.a as usize]);
    }

    #[inline(always)]
    pub(crate) fn inc8(&mut self, v: u8) -> u8 {
        let r = v.wrapping_add(1);
        self.set_flags((self.f & CF) | INC_F[r as usize]);
        r
    }

    #[inline(always)]
    pub(crate) fn dec8(&mut self, v: u8) -> u8 {
        let r = v.wrapping_sub(1);
        self.set_flags((self.f & CF) | DEC_F[r as usize]);
        r
    }

    /// ADD HL/IX/IY,rp: S, Z, P/V kept; H from bit 11, X/Y from the high byte.
    /// MEMPTR = first operand + 1.
    #[inline(always)]
    pub(crate) fn add16(&mut self, x: u16, y: u16) -> u16 {
        let r = x as u32 + y as u32;
        self.wz = x.wrapping_add(1);
        let hi = (r >> 8) as u8;
        let h = ((x ^ y ^ r as u16) >> 8) as u8 & HF;
        self.set_flags((self.f & (SF | ZF | PF)) | (hi & (XF | YF)) | h | (r >> 16) as u8);
        r as u16
    }

    /// ADC HL,rp.
    #[inline(always)]
    pub(crate) fn adc16(&mut self, y: u16) {
        let x = self.hl();
        let r = x as u32 + y as u32 + (self.f & CF) as u32;
        let r16 = r as u16;
        self.wz = x.wrapping_add(1);
        let hi = (r >> 8) as u8;
        let mut f = (hi & (SF | XF | YF)) | (((x ^ y ^ r16) >> 8) as u8 & HF) | (r >> 16) as u8;
        f |= ((((x ^ r16) & (y ^ r16)) >> 13) as u8) & PF;
        if r16 == 0 {
            f |= ZF;
        }
        self.set_flags(f);
        self.set_hl(r16);
    }

    /// SBC HL,rp.
    #[inline(always)]
    pub(crate) fn sbc16(&mut self, y: u16) {
        let x = self.hl();
        let r = (x as u32).wrapping_sub(y as u32).wrapping_sub((self.f & CF) as u32);
        let r16 = r as u16;
        self.wz = x.wrapping_add(1);
        let hi = (r >> 8) as u8;
        let mut f = (hi & (SF | XF | YF)) | (((x ^ y ^ r16) >> 8) as u8 & HF) | ((r >> 16) as u8 & CF) | NF;
        f |= ((((x ^ y) & (x ^ r16)) >> 13) as u8) & PF;
        if r16 == 0 {
            f |= ZF;
        }
        self.set_flags(f);
        self.set_hl(r16);
    }

    /// The CB-page rotates and shifts (`kind` = bits 5..3 of the opcode), SLL included.
    #[inline(always)]
    pub(crate) fn rot(&mut self, kind: u8, v: u8) -> u8 {
        let (r, c) = match kind & 7 {
            0 => (v.rotate_left(1), v >> 7),
            1 => (v.rotate_right(1), v & 1),
            2 => ((v << 1) | (self.f & CF), v >> 7),
            3 => ((v >> 1) | (self.f << 7), v & 1),
            4 => (v << 1, v >> 7),
            5 => ((v >> 1) | (v & 0x80), v & 1),
            6 => ((v << 1) | 1, v >> 7),
            _ => (v >> 1, v & 1),
        };
        self.set_flags(SZXYP[r as usize] | c);
        r
    }

    /// BIT n: Z and P/V from the tested bit, S for bit 7, X/Y from `xy`
    /// (the register itself, or MEMPTR's high byte for memory operands).
    #[inline(always)]
    pub(crate) fn bit(&mut self, n: u8, v: u8, xy: u8) {
        let m = v & (1 << n);
        let mut f = (self.f & CF) | HF | (xy & (XF | YF)) | (m & SF);
        if m == 0 {
            f |= ZF | PF;
        }
        self.set_flags(f);
    }

    #[inline(always)]
    pub(crate) fn daa(&mut self) {
        let a = self.a;
        let mut diff = 0u8;
        let mut c = self.f & CF;
        if self.f & HF != 0 || a & 0x0F > 9 {
            diff |= 0x06;
        }
        if c != 0 || a > 0x99 {
            diff |= 0x60;
            c = CF;
        }
        let (r, h) = if self.f & NF != 0 {
            (a.wrapping_sub(diff), self.f & HF != 0 && a & 0x0F < 6)
        } else {
            (a.wrapping_add(diff), a & 0x0F > 9)
        };
        self.a = r;
        let h = if h { HF } else { 0 };
        self.set_flags(SZXYP[r as usize] | (self.f & NF) | c | h);
    }
}
