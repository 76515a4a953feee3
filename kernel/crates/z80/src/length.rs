//! Instruction lengths, for a bus that checks an instruction's bytes once, when it
//! first runs, rather than at every fetch (the dispatcher's speculative tasks).

/// The length in bytes of the instruction at `pc`, reading its bytes with `byte`:
/// every byte [`crate::Cpu`] fetches for it ([`crate::Bus::fetch`]: prefixes,
/// opcodes, displacement, operands) lies in `pc..pc + len` (wrapping), and a taken
/// branch or a run under both flag settings fetches all of them. A chain of DD/FD
/// prefixes counts whole, as the interpreter runs it as one instruction.
/// `tests/length.rs` checks this against the interpreter for every opcode.
pub fn instruction_length(mut byte: impl FnMut(u16) -> u8, pc: u16) -> u32 {
    let mut prefixes = 0u32;
    let mut at = pc;
    loop {
        let op = byte(at);
        if op == 0xDD || op == 0xFD {
            prefixes += 1;
            at = at.wrapping_add(1);
            // A memory made of prefixes: the interpreter never gets past them either.
            if prefixes > 0xFFFF {
                return prefixes;
            }
            continue;
        }
        let next = byte(at.wrapping_add(1));
        return prefixes + if prefixes > 0 { indexed(op, next) } else { plain(op, next) };
    }
}

/// An instruction without a DD/FD prefix, from its first byte `op`.
fn plain(op: u8, next: u8) -> u32 {
    match op {
        0xCB => 2,
        0xED => ed(next),
        _ => base(op),
    }
}

/// What follows a DD/FD prefix: the (HL) forms take a displacement byte.
fn indexed(op: u8, next: u8) -> u32 {
    let z = op & 7;
    let y = (op >> 3) & 7;
    match op {
        // DD CB d op.
        0xCB => 3,
        0xED => ed(next),
        0x34 | 0x35 => 2,
        0x36 => 3,
        0x76 => 1,
        0x40..=0x7F if z == 6 || y == 6 => 2,
        0x80..=0xBF if z == 6 => 2,
        _ => base(op),
    }
}

/// ED xx: LD (nn),rr and LD rr,(nn) take two bytes more.
fn ed(op: u8) -> u32 {
    if op & 0xC7 == 0x43 {
        4
    } else {
        2
    }
}

/// An unprefixed opcode other than CB, ED, DD and FD.
fn base(op: u8) -> u32 {
    let x = op >> 6;
    let y = (op >> 3) & 7;
    let z = op & 7;
    match (x, z) {
        (0, 0) if y >= 2 => 2,
        (0, 1) if y & 1 == 0 => 3,
        (0, 2) if y >= 4 => 3,
        (0, 6) | (3, 6) => 2,
        (3, 2) | (3, 4) => 3,
        (3, 3) if y == 0 => 3,
        (3, 3) if y == 2 || y == 3 => 2,
        (3, 5) if y == 1 => 3,
        _ => 1,
    }
}
