//! The FDT header and the memory reservation block, checked before anything else.
//!
//! Devicetree Specification v0.4, chapter 5: the 40-byte big-endian header (5.2)
//! gives the offsets and sizes of the memory reservation block (5.3), the structure
//! block (5.4) and the strings block (5.5). Every offset and size is checked here,
//! with overflow-free arithmetic, so the parser crate behind [`crate::tree`] only ever
//! sees blocks that lie inside the blob.

use crate::error::Error;

/// FDT magic, spec 5.2.
pub const FDT_MAGIC: u32 = 0xd00d_feed;
/// Header length for version 17.
pub const HEADER_LEN: usize = 40;
/// The largest blob accepted: 2 MiB, the limit of the Linux arm64 boot protocol
/// (`Documentation/arch/arm64/booting.rst`: "must not exceed 2 megabytes").
pub const MAX_TOTAL_SIZE: usize = 2 * 1024 * 1024;

/// The header fields this crate uses.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub total_size: usize,
    pub off_dt_struct: usize,
    pub off_dt_strings: usize,
    pub off_mem_rsvmap: usize,
    pub boot_cpuid_phys: u32,
    pub size_dt_strings: usize,
    pub size_dt_struct: usize,
}

fn be32(bytes: &[u8], word: usize) -> Result<u32, Error> {
    let at = word * 4;
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or(Error::TooShort { len: bytes.len() })
}

fn be64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let end = at.checked_add(8)?;
    bytes.get(at..end).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
}

/// `totalsize` from the first 40 bytes, after checking the magic and bounds; the
/// kernel uses this to build the slice it passes to [`crate::parse`].
pub fn header_total_size(first_40_bytes: &[u8]) -> Result<usize, Error> {
    if first_40_bytes.len() < HEADER_LEN {
        return Err(Error::TooShort { len: first_40_bytes.len() });
    }
    let magic = be32(first_40_bytes, 0)?;
    if magic != FDT_MAGIC {
        return Err(Error::BadMagic { found: magic });
    }
    let total_size = be32(first_40_bytes, 1)? as usize;
    if !(HEADER_LEN..=MAX_TOTAL_SIZE).contains(&total_size) {
        return Err(Error::BadTotalSize { total_size });
    }
    Ok(total_size)
}

/// `start..start+len` if it lies inside `0..total`.
fn block(start: usize, len: usize, total: usize, what: &'static str) -> Result<(), Error> {
    match start.checked_add(len) {
        Some(end) if start >= HEADER_LEN && end <= total => Ok(()),
        _ => Err(Error::BadLayout(what)),
    }
}

/// Reads and checks the header of `dtb`.
pub(crate) fn read(dtb: &[u8]) -> Result<Header, Error> {
    let total_size = header_total_size(dtb)?;
    if total_size > dtb.len() {
        return Err(Error::Truncated { total_size, available: dtb.len() });
    }
    let version = be32(dtb, 5)?;
    let last_compatible = be32(dtb, 6)?;
    // Version 17 blobs say last_comp_version 16; a reader of 17 accepts anything
    // that claims compatibility with 17 or older, and needs the v17 size field.
    if version < 17 || last_compatible > 17 {
        return Err(Error::UnsupportedVersion { version, last_compatible });
    }
    let h = Header {
        total_size,
        off_dt_struct: be32(dtb, 2)? as usize,
        off_dt_strings: be32(dtb, 3)? as usize,
        off_mem_rsvmap: be32(dtb, 4)? as usize,
        boot_cpuid_phys: be32(dtb, 7)?,
        size_dt_strings: be32(dtb, 8)? as usize,
        size_dt_struct: be32(dtb, 9)? as usize,
    };
    if !h.off_mem_rsvmap.is_multiple_of(8) {
        return Err(Error::BadLayout("memory reservation block is not 8-byte aligned"));
    }
    if !h.off_dt_struct.is_multiple_of(4) || !h.size_dt_struct.is_multiple_of(4) {
        return Err(Error::BadLayout("structure block is not 4-byte aligned"));
    }
    // The smallest structure block: BEGIN_NODE, empty name, END_NODE, END.
    if h.size_dt_struct < 16 {
        return Err(Error::BadLayout("structure block too small to hold a root node"));
    }
    block(h.off_mem_rsvmap, 16, total_size, "memory reservation block lies outside the blob")?;
    block(h.off_dt_struct, h.size_dt_struct, total_size, "structure block lies outside the blob")?;
    block(h.off_dt_strings, h.size_dt_strings, total_size, "strings block lies outside the blob")?;
    Ok(h)
}

/// Calls `f(address, size)` for each `/memreserve/` entry (spec 5.3), up to the
/// terminating all-zero entry, which must lie inside the blob.
pub(crate) fn for_each_memreserve(
    dtb: &[u8],
    h: &Header,
    mut f: impl FnMut(u64, u64) -> Result<(), Error>,
) -> Result<(), Error> {
    let blob = dtb.get(..h.total_size).ok_or(Error::Malformed("memory reservation block"))?;
    let mut at = h.off_mem_rsvmap;
    loop {
        let (Some(address), Some(size)) = (be64_at(blob, at), be64_at(blob, at + 8)) else {
            return Err(Error::Malformed("memory reservation block has no terminating entry"));
        };
        if address == 0 && size == 0 {
            return Ok(());
        }
        f(address, size)?;
        at += 16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(words: [u32; 10]) -> [u8; 40] {
        let mut out = [0u8; 40];
        for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
        out
    }

    #[test]
    fn total_size_needs_magic_and_sane_size() {
        let good = header([FDT_MAGIC, 0x1000, 0x38, 0x200, 0x28, 17, 16, 0, 0x10, 0x100]);
        assert_eq!(header_total_size(&good), Ok(0x1000));
        assert_eq!(header_total_size(&good[..39]), Err(Error::TooShort { len: 39 }));
        let bad = header([0xdeadbeef, 0x1000, 0, 0, 0, 17, 16, 0, 0, 0]);
        assert_eq!(header_total_size(&bad), Err(Error::BadMagic { found: 0xdeadbeef }));
        let huge = header([FDT_MAGIC, 0xffff_fff0, 0, 0, 0, 17, 16, 0, 0, 0]);
        assert_eq!(header_total_size(&huge), Err(Error::BadTotalSize { total_size: 0xffff_fff0 }));
    }

    #[test]
    fn memreserve_needs_its_terminator() {
        let h = Header {
            total_size: 72,
            off_dt_struct: 72,
            off_dt_strings: 72,
            off_mem_rsvmap: 40,
            boot_cpuid_phys: 0,
            size_dt_strings: 0,
            size_dt_struct: 0,
        };
        let mut blob = [0u8; 72];
        blob[40..48].copy_from_slice(&0x8000u64.to_be_bytes());
        blob[48..56].copy_from_slice(&0x1000u64.to_be_bytes());
        let mut seen = [(0u64, 0u64); 2];
        let mut n = 0;
        let mut record = |a, s| {
            seen[n] = (a, s);
            n += 1;
            Ok(())
        };
        // Entry then terminator (56..72 are zero).
        assert_eq!(for_each_memreserve(&blob, &h, &mut record), Ok(()));
        assert_eq!(seen[0], (0x8000, 0x1000));
        // A second entry where the terminator should be, and then the blob ends.
        blob[56..64].copy_from_slice(&0x9000u64.to_be_bytes());
        assert!(matches!(for_each_memreserve(&blob, &h, |_, _| Ok(())), Err(Error::Malformed(_))));
    }

    #[test]
    fn offsets_that_overflow_are_layout_errors() {
        let mut blob = [0u8; 64];
        blob[..40].copy_from_slice(&header([FDT_MAGIC, 64, 0xffff_fffc, 0x30, 0x28, 17, 16, 0, 0, 0x10]));
        assert!(matches!(read(&blob), Err(Error::BadLayout(_))));
    }
}
