//! Register use and definition of one Z80 instruction, for the dead-register proof
//! at the start of a speculative task.
//!
//! What: [`use_def`] decodes the instruction at an address and returns which
//! register units it may read ([`UseDef::reads`]) and which it surely writes
//! ([`UseDef::writes`]). The units are the eleven 8-bit registers A B C D E H L
//! IXH IXL IYH IYL and the eight bits of F one by one, because many instructions
//! set some flags and pass the others through (INC/DEC keep C, ADD HL keeps S Z
//! PV, BIT keeps C): a passed-through flag is neither read nor written. Why: a loop
//! head usually holds leftovers (flags, A, a temporary) that no stride predicts; if
//! the task writes such a unit before it reads it, the unit's start value cannot
//! matter and validation may skip it.
//!
//! Soundness rule: `reads` may say too much, `writes` never. Everything this
//! decoder does not model (most of the ED page, IXH/IXL operands, DDCB) answers
//! "reads every unit, writes none", which ends the proof and keeps every unit
//! still unresolved under exact validation. Decoding follows the x/y/z/p/q fields
//! of the opcode (z80.info "Decoding Z80 opcodes"); the flag effects follow Zilog's
//! UM0080 tables and Sean Young's "The Undocumented Z80 Documented" for X and Y.

/// A set of register units, one bit each.
pub type Units = u32;

/// A.
pub const A: Units = 1 << 0;
/// B.
pub const B: Units = 1 << 1;
/// C.
pub const C: Units = 1 << 2;
/// D.
pub const D: Units = 1 << 3;
/// E.
pub const E: Units = 1 << 4;
/// H.
pub const H: Units = 1 << 5;
/// L.
pub const L: Units = 1 << 6;
/// IXH.
pub const IXH: Units = 1 << 7;
/// IXL.
pub const IXL: Units = 1 << 8;
/// IYH.
pub const IYH: Units = 1 << 9;
/// IYL.
pub const IYL: Units = 1 << 10;
/// The first flag unit: F bit n is unit `1 << (F_SHIFT + n)`.
pub const F_SHIFT: u32 = 11;
/// Carry (F bit 0).
pub const FC: Units = 1 << F_SHIFT;
/// Subtract (bit 1).
pub const FN: Units = 1 << (F_SHIFT + 1);
/// Parity/overflow (bit 2).
pub const FPV: Units = 1 << (F_SHIFT + 2);
/// Undocumented X (bit 3).
pub const FX: Units = 1 << (F_SHIFT + 3);
/// Half carry (bit 4).
pub const FH: Units = 1 << (F_SHIFT + 4);
/// Undocumented Y (bit 5).
pub const FY: Units = 1 << (F_SHIFT + 5);
/// Zero (bit 6).
pub const FZ: Units = 1 << (F_SHIFT + 6);
/// Sign (bit 7).
pub const FS: Units = 1 << (F_SHIFT + 7);
/// All of F.
pub const F: Units = 0xFF << F_SHIFT;
/// Every unit.
pub const ALL: Units = (1 << (F_SHIFT + 8)) - 1;
/// The names of the eleven registers, in bit order (then F's bits).
pub const NAMES: [&str; 19] =
    ["A", "B", "C", "D", "E", "H", "L", "IXH", "IXL", "IYH", "IYL", "Fc", "Fn", "Fpv", "Fx", "Fh", "Fy", "Fz", "Fs"];

/// The F bits (as a byte mask) among `units`.
pub fn f_mask(units: Units) -> u8 {
    (units >> F_SHIFT) as u8
}

/// What one instruction may read and surely writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UseDef {
    /// Units whose value the instruction may depend on.
    pub reads: Units,
    /// Units the instruction always overwrites.
    pub writes: Units,
}

const fn ud(reads: Units, writes: Units) -> UseDef {
    UseDef { reads, writes }
}

/// The answer for anything not modelled: depends on everything, writes nothing.
pub const UNKNOWN: UseDef = ud(ALL, 0);

/// The flags ADD HL,rp and the rotates of A set (S, Z and PV pass through).
const ADD16: Units = FY | FH | FX | FN | FC;

/// The flag a condition code cc tests: NZ Z NC C PO PE P M.
fn cond(cc: u8) -> Units {
    match cc & 7 {
        0 | 1 => FZ,
        2 | 3 => FC,
        4 | 5 => FPV,
        _ => FS,
    }
}

/// The unit of the 8-bit register field r[n] (n = 6 is (HL): reads H and L).
fn r8(n: u8) -> (Units, bool) {
    match n & 7 {
        0 => (B, false),
        1 => (C, false),
        2 => (D, false),
        3 => (E, false),
        4 => (H, false),
        5 => (L, false),
        6 => (H | L, true),
        _ => (A, false),
    }
}

/// The units of the register pair rp[p] (SP has none).
fn rp(p: u8) -> Units {
    match p & 3 {
        0 => B | C,
        1 => D | E,
        2 => H | L,
        _ => 0,
    }
}

/// The units of rp2[p] (AF instead of SP).
fn rp2(p: u8) -> Units {
    if p & 3 == 3 {
        A | F
    } else {
        rp(p)
    }
}

/// An 8-bit operand read: a register, or (HL) which reads H and L.
fn read_r(n: u8) -> Units {
    r8(n).0
}

/// An 8-bit destination: a register is written, (HL) is a memory write that reads H and L.
fn write_r(n: u8) -> (Units, Units) {
    let (u, mem) = r8(n);
    if mem {
        (u, 0)
    } else {
        (0, u)
    }
}

/// The 8-bit ALU operation y (ADD ADC SUB SBC AND XOR OR CP) on A and an operand.
fn alu(y: u8, operand: Units, same_a: bool) -> UseDef {
    // XOR A and SUB A give 0 and fixed flags whatever A holds.
    if same_a && (y == 2 || y == 5) {
        return ud(0, A | F);
    }
    let carry_in = if y == 1 || y == 3 { FC } else { 0 };
    let writes_a = if y == 7 { 0 } else { A };
    ud(A | operand | carry_in, F | writes_a)
}

/// Decodes the instruction whose first byte is at `pc` in `mem`.
pub fn use_def(mem: &[u8; 0x1_0000], pc: u16) -> UseDef {
    let op = mem[pc as usize];
    let (x, y, z) = (op >> 6, (op >> 3) & 7, op & 7);
    let (p, q) = (y >> 1, y & 1);
    match x {
        0 => match z {
            0 => match y {
                0 | 3 => ud(0, 0),       // NOP, JR e
                1 => ud(A | F, A | F),   // EX AF,AF'
                2 => ud(B, B),           // DJNZ
                _ => ud(cond(y - 4), 0), // JR cc
            },
            1 if q == 0 => ud(0, rp(p)),           // LD rp,nn
            1 => ud(H | L | rp(p), H | L | ADD16), // ADD HL,rp
            2 => match (q, p) {
                (0, 0) => ud(A | B | C, 0), // LD (BC),A
                (0, 1) => ud(A | D | E, 0), // LD (DE),A
                (0, 2) => ud(H | L, 0),     // LD (nn),HL
                (0, _) => ud(A, 0),         // LD (nn),A
                (_, 0) => ud(B | C, A),     // LD A,(BC)
                (_, 1) => ud(D | E, A),     // LD A,(DE)
                (_, 2) => ud(0, H | L),     // LD HL,(nn)
                _ => ud(0, A),              // LD A,(nn)
            },
            3 => ud(rp(p), rp(p)), // INC/DEC rp
            4 | 5 => {
                // INC/DEC r keep C.
                let (w_read, w) = write_r(y);
                ud(read_r(y) | w_read, w | (F & !FC))
            }
            6 => {
                let (w_read, w) = write_r(y);
                ud(w_read, w) // LD r,n
            }
            _ => match y {
                0 | 1 => ud(A, A | ADD16),         // RLCA RRCA keep S Z PV
                2 | 3 => ud(A | FC, A | ADD16),    // RLA RRA
                4 => ud(A | FH | FN | FC, A | F),  // DAA
                5 => ud(A, A | FY | FH | FX | FN), // CPL
                _ => ud(A | F, F),                 // SCF CCF (X and Y from Q, F and A)
            },
        },
        1 => {
            if y == 6 && z == 6 {
                return ud(0, 0); // HALT
            }
            let (w_read, w) = write_r(y);
            ud(read_r(z) | w_read, w)
        }
        2 => alu(y, read_r(z), z == 7),
        _ => match z {
            0 => ud(cond(y), 0),          // RET cc
            1 if q == 0 => ud(0, rp2(p)), // POP
            1 => match p {
                0 => ud(0, 0),                                         // RET
                1 => ud(B | C | D | E | H | L, B | C | D | E | H | L), // EXX
                _ => ud(H | L, 0),                                     // JP (HL), LD SP,HL
            },
            2 => ud(cond(y), 0), // JP cc,nn
            3 => match y {
                0 | 6 | 7 => ud(0, 0),                     // JP nn, DI, EI
                1 => cb(mem[pc.wrapping_add(1) as usize]), // CB page
                2 => ud(A, 0),                             // OUT (n),A
                3 => ud(A, A),                             // IN A,(n)
                4 => ud(H | L, H | L),                     // EX (SP),HL
                _ => ud(D | E | H | L, D | E | H | L),     // EX DE,HL
            },
            4 => ud(cond(y), 0),          // CALL cc
            5 if q == 0 => ud(rp2(p), 0), // PUSH
            5 if p == 0 => ud(0, 0),      // CALL nn
            5 if p == 2 => ed(mem[pc.wrapping_add(1) as usize]),
            5 => {
                let (xh, xl) = if p == 1 { (IXH, IXL) } else { (IYH, IYL) };
                indexed(mem[pc.wrapping_add(1) as usize], xh | xl)
            }
            6 => alu(y, 0, false), // ALU A,n
            _ => ud(0, 0),         // RST
        },
    }
}

/// The ED instructions modelled (16-bit loads and arithmetic, NEG, the block
/// transfers); the rest (I/O, interrupt modes, I and R, RLD/RRD...) are [`UNKNOWN`].
fn ed(op: u8) -> UseDef {
    let (x, y, z) = (op >> 6, (op >> 3) & 7, op & 7);
    let (p, q) = (y >> 1, y & 1);
    match (x, z) {
        (1, 2) => ud(H | L | rp(p) | FC, H | L | F), // SBC/ADC HL,rp
        (1, 3) if q == 0 => ud(rp(p), 0),            // LD (nn),rp
        (1, 3) => ud(0, rp(p)),                      // LD rp,(nn)
        (1, 4) => ud(A, A | F),                      // NEG
        // LDI LDD LDIR LDDR: PV from BC, X Y from A + the byte, S Z C kept.
        (2, 0) if y >= 4 => ud(A | B | C | D | E | H | L, B | C | D | E | H | L | FY | FH | FX | FPV | FN),
        _ => UNKNOWN,
    }
}

/// DD/FD with the index register `x`: the forms on the index register itself and
/// the (IX+d) memory operands; the rest (IXH/IXL as operands, DDCB) are [`UNKNOWN`].
fn indexed(op: u8, x: Units) -> UseDef {
    let (y, z) = ((op >> 3) & 7, op & 7);
    match op {
        0x21 | 0x2A => ud(0, x),                                    // LD IX,nn / LD IX,(nn)
        0x22 | 0xE5 => ud(x, 0),                                    // LD (nn),IX / PUSH IX
        0xE1 => ud(0, x),                                           // POP IX
        0x23 | 0x2B => ud(x, x),                                    // INC/DEC IX
        0x09 | 0x19 | 0x39 => ud(x | rp(op >> 4), x | ADD16),       // ADD IX,rp
        0x29 => ud(x, x | ADD16),                                   // ADD IX,IX
        0x34 | 0x35 => ud(x, F & !FC),                              // INC/DEC (IX+d)
        0x36 => ud(x, 0),                                           // LD (IX+d),n
        0xE9 | 0xF9 => ud(x, 0),                                    // JP (IX), LD SP,IX
        _ if op & 0xC7 == 0x46 && op != 0x76 => ud(x, r8(y).0),     // LD r,(IX+d)
        _ if op & 0xF8 == 0x70 && op != 0x76 => ud(x | r8(z).0, 0), // LD (IX+d),r
        _ if op & 0xC7 == 0x86 => alu(y, x, false),                 // ALU A,(IX+d)
        _ => UNKNOWN,
    }
}

/// The CB page: rotates and shifts, BIT, RES, SET on r[z].
fn cb(op: u8) -> UseDef {
    let (x, y, z) = (op >> 6, (op >> 3) & 7, op & 7);
    let (w_read, w) = write_r(z);
    match x {
        // RL and RR shift the carry in; the others set F from the result alone.
        0 => ud(read_r(z) | w_read | if y == 2 || y == 3 { FC } else { 0 }, w | F),
        1 => ud(read_r(z), F & !FC),    // BIT keeps C (and reads MEMPTR for (HL))
        _ => ud(read_r(z) | w_read, w), // RES, SET
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(bytes: &[u8]) -> UseDef {
        let mut mem = [0u8; 0x1_0000];
        mem[0x100..0x100 + bytes.len()].copy_from_slice(bytes);
        use_def(&mem, 0x100)
    }

    #[test]
    fn common_instructions() {
        assert_eq!(at(&[0xAF]), ud(0, A | F)); // XOR A
        assert_eq!(at(&[0xB7]), ud(A, A | F)); // OR A
        assert_eq!(at(&[0xBE]), ud(A | H | L, F)); // CP (HL)
        assert_eq!(at(&[0x8E]), ud(A | H | L | FC, A | F)); // ADC A,(HL)
        assert_eq!(at(&[0x7E]), ud(H | L, A)); // LD A,(HL)
        assert_eq!(at(&[0x77]), ud(A | H | L, 0)); // LD (HL),A
        assert_eq!(at(&[0x3C]), ud(A, A | (F & !FC))); // INC A keeps C
        assert_eq!(at(&[0x34]), ud(H | L, F & !FC)); // INC (HL)
        assert_eq!(at(&[0x10, 0xFE]), ud(B, B)); // DJNZ
        assert_eq!(at(&[0x20, 0xFE]), ud(FZ, 0)); // JR NZ
        assert_eq!(at(&[0x38, 0xFE]), ud(FC, 0)); // JR C
        assert_eq!(at(&[0xFA, 0, 0]), ud(FS, 0)); // JP M
        assert_eq!(at(&[0xE0]), ud(FPV, 0)); // RET PO
        assert_eq!(at(&[0x17]), ud(A | FC, A | FY | FH | FX | FN | FC)); // RLA
        assert_eq!(at(&[0x21, 0, 0]), ud(0, H | L)); // LD HL,nn
        assert_eq!(at(&[0x09]), ud(H | L | B | C, H | L | FY | FH | FX | FN | FC)); // ADD HL,BC
        assert_eq!(at(&[0xF1]), ud(0, A | F)); // POP AF
        assert_eq!(at(&[0xF5]), ud(A | F, 0)); // PUSH AF
        assert_eq!(at(&[0xFE, 1]), ud(A, F)); // CP n
        assert_eq!(at(&[0xCB, 0x16]), ud(H | L | FC, F)); // RL (HL)
        assert_eq!(at(&[0xCB, 0x3F]), ud(A, A | F)); // SRL A
        assert_eq!(at(&[0xCB, 0x47]), ud(A, F & !FC)); // BIT 0,A
        assert_eq!(at(&[0xCB, 0xC6]), ud(H | L, 0)); // SET 0,(HL)
        assert_eq!(at(&[0xED, 0x53, 0, 0]), ud(D | E, 0)); // LD (nn),DE
        assert_eq!(at(&[0xED, 0x5B, 0, 0]), ud(0, D | E)); // LD DE,(nn)
        assert_eq!(at(&[0xED, 0x52]), ud(H | L | D | E | FC, H | L | F)); // SBC HL,DE
        assert_eq!(at(&[0xED, 0xB0]).writes & F, FY | FH | FX | FPV | FN); // LDIR keeps S Z C
        assert_eq!(at(&[0xED, 0x57]), UNKNOWN); // LD A,I
        assert_eq!(at(&[0xDD, 0x21, 0, 0]), ud(0, IXH | IXL));
        assert_eq!(at(&[0xFD, 0x7E, 5]), ud(IYH | IYL, A)); // LD A,(IY+5)
        assert_eq!(at(&[0xDD, 0x66, 5]), ud(IXH | IXL, H)); // LD H,(IX+5)
        assert_eq!(at(&[0xDD, 0x77, 5]), ud(IXH | IXL | A, 0)); // LD (IX+5),A
        assert_eq!(at(&[0xDD, 0x86, 5]), ud(A | IXH | IXL, A | F)); // ADD A,(IX+5)
        assert_eq!(at(&[0xDD, 0x19]), ud(IXH | IXL | D | E, IXH | IXL | FY | FH | FX | FN | FC));
        assert_eq!(at(&[0xDD, 0x7C]), UNKNOWN); // LD A,IXH
        assert_eq!(at(&[0xDD, 0xCB, 5, 0x46]), UNKNOWN);
    }
}
