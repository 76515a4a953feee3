//! File Control Blocks: the 36-byte structure every CP/M file function takes (CP/M
//! 2.2 Interface Guide, section 6 "File Control Block Format"), names in 8.3 form,
//! and the CCP's parsing of a command tail into the default FCBs at 0x005C and
//! 0x006C (section 2, "the default FCB").
//!
//! ```text
//! 0  dr      drive: 0 = default, 1..16 = A..P ('?' in a search: every entry)
//! 1  f1..f8  name, upper case, space padded (bit 7 of f1..f4: interface attributes)
//! 9  t1..t3  type (bit 7: t1' read-only, t2' system, t3' archived)
//! 12 ex      current extent, low 5 bits of the extent number
//! 13 s1      reserved
//! 14 s2      the extent number's high bits (the "module")
//! 15 rc      records in the current extent (0..128)
//! 16 d0..d15 allocation map, filled by open
//! 32 cr      current record within the extent, for sequential access
//! 33 r0,r1   random record number (r0 low); r2 overflow
//! ```

use alloc::string::String;

/// Offsets of the FCB fields.
pub mod off {
    /// Drive code.
    pub const DR: usize = 0;
    /// Name and type (11 bytes).
    pub const NAME: usize = 1;
    /// Current extent.
    pub const EX: usize = 12;
    /// Reserved.
    pub const S1: usize = 13;
    /// Extent high bits.
    pub const S2: usize = 14;
    /// Record count of the current extent.
    pub const RC: usize = 15;
    /// Allocation map (16 bytes); for rename, the new name starts at 16.
    pub const D0: usize = 16;
    /// Current record.
    pub const CR: usize = 32;
    /// Random record number, 3 bytes.
    pub const R0: usize = 33;
}

/// Bytes an FCB takes with its random record field.
pub const FCB_LEN: usize = 36;

/// `NAME.TYP` (any case, `*` for the rest of a part) as the 11 stored bytes, space
/// padded and upper case; `None` if a part is too long or a character is not allowed.
pub fn parse_name(s: &str) -> Option<[u8; 11]> {
    let (name, ty) = match s.split_once('.') {
        Some((n, t)) => (n, t),
        None => (s, ""),
    };
    let mut out = [b' '; 11];
    fill(name.as_bytes(), &mut out[..8])?;
    fill(ty.as_bytes(), &mut out[8..])?;
    Some(out)
}

/// Copies one part of a name into `dst`, upper case, expanding `*` to `?`s.
fn fill(src: &[u8], dst: &mut [u8]) -> Option<()> {
    for (i, &c) in src.iter().enumerate() {
        if c == b'*' {
            dst[i..].fill(b'?');
            return Some(());
        }
        if i == dst.len() || !name_char(c) {
            return None;
        }
        dst[i] = c.to_ascii_uppercase();
    }
    Some(())
}

/// Characters a CP/M file name may hold (the CCP's delimiters excluded).
fn name_char(c: u8) -> bool {
    c.is_ascii_graphic() && !b"<>.,;:=[]_%|()/\\*".contains(&c)
}

/// The 11 stored bytes as `NAME.TYP` (attribute bits dropped, trailing spaces cut).
pub fn format_name(n: &[u8; 11]) -> String {
    let mut s = String::new();
    for &b in n[..8].iter().take_while(|&&b| b & 0x7f != b' ') {
        s.push((b & 0x7f) as char);
    }
    if n[8..].iter().any(|&b| b & 0x7f != b' ') {
        s.push('.');
        for &b in n[8..].iter().take_while(|&&b| b & 0x7f != b' ') {
            s.push((b & 0x7f) as char);
        }
    }
    s
}

/// Parses the next file name of a command tail into `fcb` (at least 16 bytes) as the
/// CCP does: optional `d:` drive, name and type upper cased, `*` expanded to `?`, the
/// rest of the first 16 bytes zeroed. Returns how many bytes of `tail` were used.
pub fn parse_into(tail: &[u8], fcb: &mut [u8]) -> usize {
    let mut i = tail.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    fcb[..16].fill(0);
    fcb[off::NAME..off::NAME + 11].fill(b' ');
    if tail.len() > i + 1 && tail[i + 1] == b':' && tail[i].is_ascii_alphabetic() {
        fcb[off::DR] = tail[i].to_ascii_uppercase() - b'A' + 1;
        i += 2;
    }
    let (name, rest) = fcb[off::NAME..off::NAME + 11].split_at_mut(8);
    part(tail, &mut i, name);
    if i < tail.len() && tail[i] == b'.' {
        i += 1;
        part(tail, &mut i, rest);
    }
    i
}

/// Copies one name part of a command tail, from `*i` on, into `dst`.
fn part(tail: &[u8], i: &mut usize, dst: &mut [u8]) {
    let mut n = 0;
    while *i < tail.len() && (name_char(tail[*i]) || tail[*i] == b'*') {
        let c = tail[*i];
        *i += 1;
        if c == b'*' {
            dst[n..].fill(b'?');
            n = dst.len();
        } else if n < dst.len() {
            dst[n] = c.to_ascii_uppercase();
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_format() {
        assert_eq!(&parse_name("hello.txt").unwrap(), b"HELLO   TXT");
        assert_eq!(&parse_name("A").unwrap(), b"A          ");
        assert_eq!(&parse_name("*.c").unwrap(), b"????????C  ");
        assert_eq!(&parse_name("AB*.*").unwrap(), b"AB?????????");
        assert_eq!(parse_name("NINECHARS.TXT"), None);
        assert_eq!(parse_name("A.TEXT"), None);
        assert_eq!(parse_name("A B"), None);
        assert_eq!(format_name(b"HELLO   TXT"), "HELLO.TXT");
        assert_eq!(format_name(b"README     "), "README");
        let mut ro = *b"X       COM";
        ro[8] |= 0x80;
        assert_eq!(format_name(&ro), "X.COM");
    }

    #[test]
    fn command_tail_fills_the_default_fcbs() {
        let mut fcb = [0xaau8; 36];
        let tail = b" b:in.txt  *.BAK";
        let used = parse_into(tail, &mut fcb);
        assert_eq!(fcb[0], 2);
        assert_eq!(&fcb[1..12], b"IN      TXT");
        assert!(fcb[12..16].iter().all(|&b| b == 0));
        assert_eq!(fcb[16], 0xaa, "only the first 16 bytes are written");
        parse_into(&tail[used..], &mut fcb[16..]);
        assert_eq!(&fcb[17..28], b"????????BAK");
        parse_into(b"", &mut fcb);
        assert_eq!(&fcb[..12], b"\0           ");
    }
}
