//! Building a SymbOS executable from two assemblies of the same program.
//!
//! What: [`link`] takes the program assembled at an origin and again at the origin
//! plus 0x100 (the source starts with the 256-byte application header and writes the
//! code, data and transfer lengths into its first three words, as SymbOS's EXE
//! template does). Every byte that differs between the two is the high byte of an
//! address, so the relocation table (SymbOS-Applications.txt, "Application
//! structure") is the list of those words' addresses in the first assembly. The
//! result is the first assembly with the header's origin (offset 6) and table length
//! (offset 8) filled in and the table appended.
//!
//! Why here: the host tool `symexe` and this crate's build script (which includes this
//! file with `#[path]`) share it, and the loader's tests check its output. It uses
//! only `core` and `alloc`, so that inclusion works.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The distance between the two origins: a relocated word differs by one in its
/// high byte and not at all in its low byte.
pub const ORIGIN_STEP: u16 = 0x100;

/// Builds the executable from `low` (assembled at `origin`) and `high` (assembled at
/// `origin + ORIGIN_STEP`), or says why the two do not make one.
pub fn link(low: &[u8], high: &[u8], origin: u16) -> Result<Vec<u8>, String> {
    if low.len() != high.len() {
        return Err(format!("the two assemblies differ in length ({} and {} bytes)", low.len(), high.len()));
    }
    if low.len() < 256 {
        return Err(format!("{} bytes: shorter than the 256-byte header", low.len()));
    }
    if &low[48..56] != b"SymExe10" {
        return Err(String::from("no SymExe10 at offset 48 of the header"));
    }
    let word = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
    let (code, data, transfer) = (word(low, 0), word(low, 2), word(low, 4));
    if code + data + transfer != low.len() {
        return Err(format!(
            "the header's lengths (code {code} + data {data} + transfer {transfer}) are not the \
             {} bytes assembled",
            low.len()
        ));
    }
    if origin as usize + low.len() + ORIGIN_STEP as usize > 0x1_0000 {
        return Err(format!("origin {origin:#06x} leaves no room for the program and the second origin"));
    }
    let mut table: Vec<u16> = Vec::new();
    let mut i = 0;
    while i < low.len() {
        // Offsets 6..10 are the header's origin and table length, written below.
        if low[i] == high[i] || (6..10).contains(&i) {
            i += 1;
            continue;
        }
        if i == 0 || high[i].wrapping_sub(low[i]) != (ORIGIN_STEP >> 8) as u8 || low[i - 1] != high[i - 1] {
            return Err(format!(
                "byte {i:#06x} differs by {:#04x} between the origins: not the high byte of an \
                 address (only whole 16-bit addresses can be relocated)",
                high[i].wrapping_sub(low[i])
            ));
        }
        table.push(origin + (i - 1) as u16);
        i += 1;
    }
    let mut out = Vec::with_capacity(low.len() + 2 * table.len());
    out.extend_from_slice(low);
    out[6..8].copy_from_slice(&origin.to_le_bytes());
    out[8..10].copy_from_slice(&(table.len() as u16).to_le_bytes());
    for entry in &table {
        out.extend_from_slice(&entry.to_le_bytes());
    }
    Ok(out)
}
