//! The SymbOS executable: its header, its checks and the loader with relocation.
//!
//! What (SymbOS-Applications.txt, "Application structure", "Application header",
//! "Packed relocator tables"): a file is the code area, which opens with a 256-byte
//! header, then the data area, the transfer area and a relocation table. The header
//! gives the three lengths (words 0, 2, 4), the origin the program was assembled at
//! (word 6), the table's length in words (word 8), the offset of the start stack
//! inside the transfer area (word 10), the name (24 bytes at 15, 0 at 39), flags
//! (byte 40), the `SymExe10` magic (48), and extra memory per area (words 56, 58,
//! 60). Each table entry is the address (in the assembled program) of a word that
//! holds an address; the loader finds which area that address points into and adds
//! that area's move. Every area is placed at an address with the same low byte as
//! where it was assembled, so a move only changes high bytes, as SymbOS's relocator
//! does.
//!
//! [`load`] checks everything before it writes a byte of the process's memory and
//! refuses a bad file with a [`LoadError`] that names what is wrong. It then lays
//! the areas out in the process's one bank (SymbOS-MemoryMap-SVM.txt, "Application
//! Memory Usage"): the kernel page 0000-03FF, the code area from 0400 followed by
//! its extra memory and the 256-byte command line, the data area and its extra
//! memory right after, the transfer area at C000 or above (it holds the stack and
//! the message buffers) and below FF00, where the interbank stubs live. Then it
//! fills in the header as SymbOS's system manager does (total lengths, data and
//! transfer addresses, bank, application and process ids) and writes the process id
//! into the start frame.
//!
//! Not served: compressed files (`SymExe11`, flag bits 4-7: ZX0) are refused with
//! their reason; packed relocation tables (flag bit 1) are read. The data area is not
//! kept inside one 16K block (no screen manager here needs that).

use alloc::string::String;
use core::fmt;

/// Bytes in the header that opens the code area.
pub const HEADER: usize = 256;
/// The magic of a file that is neither compressed nor packed.
pub const MAGIC: &[u8; 8] = b"SymExe10";
/// The magic of a file with compressed or packed parts.
pub const MAGIC_PACKED: &[u8; 8] = b"SymExe11";
/// The first address an application may use (below it: the kernel page).
pub const APP_START: u16 = 0x0400;
/// The transfer area lies at or above this address.
pub const TRANSFER_START: u16 = 0xc000;
/// The end of the transfer area (the interbank stubs start here).
pub const TRANSFER_END: u32 = 0xff00;
/// The command line behind the code area.
pub const COMMAND_LINE: usize = 256;
/// The start frame: IY, IX, HL, DE, BC, AF, the start address, the process id.
pub const FRAME: usize = 15;
/// The bank the application runs in (the header's byte 14 after loading).
pub const BANK: u8 = 1;

/// Header offsets before loading.
pub mod off {
    /// Code area length (header included).
    pub const CODE_LEN: usize = 0;
    /// Data area length.
    pub const DATA_LEN: usize = 2;
    /// Transfer area length.
    pub const TRANSFER_LEN: usize = 4;
    /// The origin the program was assembled at.
    pub const ORIGIN: usize = 6;
    /// Relocation table entries (bytes / 2 when packed).
    pub const RELOC: usize = 8;
    /// The start stack's offset inside the transfer area.
    pub const STACK: usize = 10;
    /// The application name, 24 bytes, then a 0 at 39.
    pub const NAME: usize = 15;
    /// Flags: bit 1 packed table, bits 4-7 compressed parts.
    pub const FLAGS: usize = 40;
    /// The magic.
    pub const MAGIC: usize = 48;
    /// Extra code area memory.
    pub const CODE_EXTRA: usize = 56;
    /// Extra data area memory.
    pub const DATA_EXTRA: usize = 58;
    /// Extra transfer area memory.
    pub const TRANSFER_EXTRA: usize = 60;
    /// After loading: data area address.
    pub const DATA_ADDR: usize = 6;
    /// After loading: transfer area address.
    pub const TRANSFER_ADDR: usize = 8;
    /// After loading: four sub-process or timer ids.
    pub const SUB_IDS: usize = 10;
    /// After loading: the bank.
    pub const BANK: usize = 14;
    /// After loading: flags (bit 0: work directory behind the code area).
    pub const POST_FLAGS: usize = 46;
    /// After loading: eight extra memory areas of 5 bytes.
    pub const MEMORY: usize = 48;
    /// After loading: the application id.
    pub const APP_ID: usize = 88;
    /// After loading: the main process id.
    pub const PROCESS_ID: usize = 89;
}

/// Longest application name.
pub const NAME_LEN: usize = 24;
/// Flag bit: the relocation table is packed.
pub const FLAG_PACKED: u8 = 0x02;
/// Flag bits: some part is ZX0-compressed.
pub const FLAG_COMPRESSED: u8 = 0xf0;

/// The three areas, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// The code area (header included).
    Code,
    /// The data area.
    Data,
    /// The transfer area.
    Transfer,
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Area::Code => "code",
            Area::Data => "data",
            Area::Transfer => "transfer",
        })
    }
}

/// Why a file is not a SymbOS executable this loader runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// Shorter than the header.
    TooShort(usize),
    /// No `SymExe10` at offset 48.
    BadMagic,
    /// Compressed parts (`SymExe11` or flag bits 4-7).
    Compressed,
    /// The name has no 0 by offset 39.
    NameNotTerminated,
    /// An area of length 0 (SymbOS wants at least one byte in each).
    EmptyArea(Area),
    /// The code area is shorter than its header.
    CodeTooShort(u16),
    /// The file ends before the areas and the table do.
    Truncated {
        /// Bytes the header promises.
        need: usize,
        /// Bytes there are.
        have: usize,
    },
    /// The start frame does not lie inside the transfer area.
    StackOutside {
        /// The header's stack offset.
        offset: u16,
        /// The transfer area's length.
        transfer: u16,
    },
    /// Origin plus length passes 0xFFFF.
    OriginOverflow {
        /// The origin.
        origin: u16,
        /// The three areas' length.
        len: usize,
    },
    /// The areas and their extra memory do not fit in one bank.
    DoesNotFit(Area),
    /// A table entry points outside the program or across two areas.
    RelocOutside {
        /// Which entry (0-based).
        index: usize,
        /// Its address.
        at: u16,
    },
    /// Two entries relocate the same byte.
    RelocOverlap {
        /// Which entry.
        index: usize,
        /// Its address.
        at: u16,
    },
    /// An entry's word holds an address in no area.
    RelocTarget {
        /// Which entry.
        index: usize,
        /// Its address.
        at: u16,
        /// The word there.
        value: u16,
    },
    /// A packed table is malformed: no first address, or no end mark.
    BadPackedTable,
    /// After relocation the start address is not in the code area.
    StartOutside(u16),
    /// No memory to check or load it in.
    NoMemory,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::TooShort(n) => write!(f, "{n} bytes: shorter than the {HEADER}-byte header"),
            LoadError::BadMagic => f.write_str("no SymExe10 identification at offset 48"),
            LoadError::Compressed => f.write_str("compressed executable (ZX0): not supported"),
            LoadError::NameNotTerminated => f.write_str("the application name has no 0 terminator by offset 39"),
            LoadError::EmptyArea(a) => write!(f, "the {a} area is empty"),
            LoadError::CodeTooShort(n) => write!(f, "the code area ({n} bytes) is shorter than its header"),
            LoadError::Truncated { need, have } => {
                write!(f, "truncated: the header promises {need} bytes, the file has {have}")
            }
            LoadError::StackOutside { offset, transfer } => write!(
                f,
                "the start stack at offset {offset} does not leave its {FRAME}-byte frame inside the \
                 {transfer}-byte transfer area"
            ),
            LoadError::OriginOverflow { origin, len } => {
                write!(f, "origin {origin:#06x} plus {len} bytes passes the end of memory")
            }
            LoadError::DoesNotFit(a) => write!(f, "the {a} area does not fit in the bank"),
            LoadError::RelocOutside { index, at } => {
                write!(f, "relocation entry {index} ({at:#06x}) is not a word inside one area")
            }
            LoadError::RelocOverlap { index, at } => {
                write!(f, "relocation entry {index} ({at:#06x}) overlaps another entry")
            }
            LoadError::RelocTarget { index, at, value } => {
                write!(f, "relocation entry {index}: the word at {at:#06x} ({value:#06x}) points into no area")
            }
            LoadError::BadPackedTable => f.write_str("the packed relocation table is malformed"),
            LoadError::StartOutside(a) => write!(f, "the start address {a:#06x} is outside the code area"),
            LoadError::NoMemory => f.write_str("no memory to load it"),
        }
    }
}

/// A checked header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Area lengths in the file.
    pub len: [u16; 3],
    /// Extra memory behind each area.
    pub extra: [u16; 3],
    /// The origin the program was assembled at.
    pub origin: u16,
    /// The table's length field.
    pub reloc: u16,
    /// The start stack's offset in the transfer area.
    pub stack: u16,
    /// Whether the table is packed.
    pub packed: bool,
    /// The name.
    pub name: String,
}

fn word(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// True if `file` opens as a SymbOS executable (either magic), whether or not it
/// loads: how the initrd tells SymbOS programs from others.
pub fn is_symbos(file: &[u8]) -> bool {
    file.len() >= off::MAGIC + 8
        && (&file[off::MAGIC..off::MAGIC + 8] == MAGIC || &file[off::MAGIC..off::MAGIC + 8] == MAGIC_PACKED)
}

/// Reads and checks the header of `file` (not the table).
pub fn header(file: &[u8]) -> Result<Header, LoadError> {
    if file.len() < HEADER {
        return Err(LoadError::TooShort(file.len()));
    }
    let magic = &file[off::MAGIC..off::MAGIC + 8];
    let flags = file[off::FLAGS];
    if magic == MAGIC_PACKED || flags & FLAG_COMPRESSED != 0 {
        return Err(LoadError::Compressed);
    }
    if magic != MAGIC {
        return Err(LoadError::BadMagic);
    }
    let name = &file[off::NAME..off::NAME + NAME_LEN + 1];
    let end = name.iter().position(|&b| b == 0).ok_or(LoadError::NameNotTerminated)?;
    let len = [word(file, off::CODE_LEN), word(file, off::DATA_LEN), word(file, off::TRANSFER_LEN)];
    for (l, a) in len.iter().zip([Area::Code, Area::Data, Area::Transfer]) {
        if *l == 0 {
            return Err(LoadError::EmptyArea(a));
        }
    }
    if (len[0] as usize) < HEADER {
        return Err(LoadError::CodeTooShort(len[0]));
    }
    let h = Header {
        len,
        extra: [word(file, off::CODE_EXTRA), word(file, off::DATA_EXTRA), word(file, off::TRANSFER_EXTRA)],
        origin: word(file, off::ORIGIN),
        reloc: word(file, off::RELOC),
        stack: word(file, off::STACK),
        packed: flags & FLAG_PACKED != 0,
        name: name[..end].iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' }).collect(),
    };
    let areas = h.areas_len();
    let need = areas + 2 * h.reloc as usize;
    if file.len() < need {
        return Err(LoadError::Truncated { need, have: file.len() });
    }
    if h.stack as usize + FRAME > h.len[2] as usize {
        return Err(LoadError::StackOutside { offset: h.stack, transfer: h.len[2] });
    }
    if h.origin as usize + areas > 0x1_0000 {
        return Err(LoadError::OriginOverflow { origin: h.origin, len: areas });
    }
    Ok(h)
}

impl Header {
    /// The three areas' bytes in the file.
    pub fn areas_len(&self) -> usize {
        self.len.iter().map(|&l| l as usize).sum()
    }

    /// Where area `i` starts in the assembled program.
    fn assembled(&self, i: usize) -> u32 {
        self.origin as u32 + self.len[..i].iter().map(|&l| l as u32).sum::<u32>()
    }
}

/// Where the loader put a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Start address of the code, data and transfer areas.
    pub addr: [u16; 3],
    /// Their lengths with extra memory (the code area's includes the command line).
    pub total: [u16; 3],
    /// The command line's address (the last 256 bytes of the code area).
    pub command_line: u16,
    /// The start stack (the frame's first byte).
    pub stack: u16,
    /// The start address, read from the frame after relocation.
    pub start: u16,
    /// Relocation entries applied.
    pub relocations: usize,
    /// The checked header.
    pub header: Header,
}

/// The first address at or above `from` whose low byte is `low`.
fn aligned(from: u32, low: u8) -> u32 {
    let a = (from & !0xff) | low as u32;
    if a < from {
        a + 0x100
    } else {
        a
    }
}

/// Places the areas in the bank.
fn place(h: &Header) -> Result<([u32; 3], [u32; 3]), LoadError> {
    let low = |i: usize| (h.assembled(i) & 0xff) as u8;
    let total = [
        h.len[0] as u32 + h.extra[0] as u32 + COMMAND_LINE as u32,
        h.len[1] as u32 + h.extra[1] as u32,
        h.len[2] as u32 + h.extra[2] as u32,
    ];
    let code = aligned(APP_START as u32, low(0));
    let data = aligned(code + total[0], low(1));
    if data + total[1] > TRANSFER_END {
        return Err(LoadError::DoesNotFit(if data > TRANSFER_END { Area::Code } else { Area::Data }));
    }
    let transfer = aligned((data + total[1]).max(TRANSFER_START as u32), low(2));
    if transfer + total[2] > TRANSFER_END {
        return Err(LoadError::DoesNotFit(Area::Transfer));
    }
    Ok(([code, data, transfer], total))
}

/// The relocation table's entries, unpacked.
fn entries(
    h: &Header,
    table: &[u8],
    mut each: impl FnMut(usize, u16) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    if !h.packed {
        for (i, w) in table.chunks_exact(2).enumerate() {
            each(i, u16::from_le_bytes([w[0], w[1]]))?;
        }
        return Ok(());
    }
    let (mut pos, mut spare, mut last, mut index) = (0usize, None::<u8>, None::<u16>, 0usize);
    loop {
        let nibble = match spare.take() {
            Some(n) => n,
            None => {
                let b = *table.get(pos).ok_or(LoadError::BadPackedTable)?;
                pos += 1;
                spare = Some(b >> 4);
                b & 0x0f
            }
        };
        let at = if nibble == 0 {
            let w = table.get(pos..pos + 2).ok_or(LoadError::BadPackedTable)?;
            pos += 2;
            match u16::from_le_bytes([w[0], w[1]]) {
                0 => return Ok(()),
                w => w,
            }
        } else {
            last.ok_or(LoadError::BadPackedTable)?.wrapping_add(nibble as u16 + 1)
        };
        each(index, at)?;
        last = Some(at);
        index += 1;
    }
}

/// Checks `file` and loads it into `mem` (the process's 64 KiB; only the program's
/// areas are written, and only once every check has passed) with application id
/// `app_id` and process id `pid`. The command line is left for
/// [`write_command_line`].
pub fn load(file: &[u8], mem: &mut [u8; 0x1_0000], app_id: u8, pid: u8) -> Result<Layout, LoadError> {
    let h = header(file)?;
    let (addr, total) = place(&h)?;
    let areas = h.areas_len();
    let table = &file[areas..areas + 2 * h.reloc as usize];
    let bounds = |i: usize| (h.assembled(i), h.assembled(i) + h.len[i] as u32);
    // Pass 1: check every entry against a private copy, recording the bytes touched.
    // Fallible: a spawn must not take the kernel down when memory is short.
    let mut image = alloc::vec::Vec::new();
    image.try_reserve_exact(areas).map_err(|_| LoadError::NoMemory)?;
    image.extend_from_slice(&file[..areas]);
    let mut touched = alloc::vec::Vec::new();
    touched.try_reserve_exact(0x1_0000 / 64).map_err(|_| LoadError::NoMemory)?;
    touched.resize(0x1_0000 / 64, 0u64);
    let mut count = 0;
    entries(&h, table, |index, at| {
        let a = at as u32;
        let area =
            (0..3).find(|&i| bounds(i).0 <= a && a + 2 <= bounds(i).1).ok_or(LoadError::RelocOutside { index, at })?;
        let _ = area;
        for b in [a, a + 1] {
            let (w, bit) = ((b / 64) as usize, b % 64);
            if touched[w] & (1 << bit) != 0 {
                return Err(LoadError::RelocOverlap { index, at });
            }
            touched[w] |= 1 << bit;
        }
        let off = (a - h.origin as u32) as usize;
        let value = word(&image, off);
        let v = value as u32;
        // An address at the very end of the transfer area (a buffer's end) belongs to it.
        let target = (0..3)
            .find(|&i| bounds(i).0 <= v && (v < bounds(i).1 || (i == 2 && v == bounds(i).1)))
            .ok_or(LoadError::RelocTarget { index, at, value })?;
        let moved = addr[target].wrapping_sub(bounds(target).0);
        image[off + 1] = image[off + 1].wrapping_add((moved >> 8) as u8);
        count += 1;
        Ok(())
    })?;
    let stack = addr[2] + h.stack as u32;
    let frame_at = (h.len[0] as usize + h.len[1] as usize) + h.stack as usize;
    let start = word(&image, frame_at + 12);
    if !(addr[0]..addr[0] + h.len[0] as u32).contains(&(start as u32)) {
        return Err(LoadError::StartOutside(start));
    }
    // Pass 2: write the areas, their zeroed extra memory and the header's new fields.
    let mut from = 0;
    for i in 0..3 {
        let a = addr[i] as usize;
        let l = h.len[i] as usize;
        mem[a..a + l].copy_from_slice(&image[from..from + l]);
        mem[a + l..a + total[i] as usize].fill(0);
        from += l;
    }
    let code = addr[0] as usize;
    let hdr = &mut mem[code..code + HEADER];
    for (i, t) in total.iter().enumerate() {
        hdr[2 * i..2 * i + 2].copy_from_slice(&(*t as u16).to_le_bytes());
    }
    hdr[off::DATA_ADDR..off::DATA_ADDR + 2].copy_from_slice(&(addr[1] as u16).to_le_bytes());
    hdr[off::TRANSFER_ADDR..off::TRANSFER_ADDR + 2].copy_from_slice(&(addr[2] as u16).to_le_bytes());
    hdr[off::SUB_IDS..off::SUB_IDS + 4].fill(0);
    hdr[off::BANK] = BANK;
    hdr[off::POST_FLAGS] = 0;
    hdr[off::POST_FLAGS + 1] = 0;
    hdr[off::MEMORY..off::MEMORY + 40].fill(0);
    hdr[off::APP_ID] = app_id;
    hdr[off::PROCESS_ID] = pid;
    mem[stack as usize + 14] = pid;
    let command_line = (addr[0] + total[0]) as u16 - COMMAND_LINE as u16;
    Ok(Layout {
        addr: [addr[0] as u16, addr[1] as u16, addr[2] as u16],
        total: [total[0] as u16, total[1] as u16, total[2] as u16],
        command_line,
        stack: stack as u16,
        start,
        relocations: count,
        header: h,
    })
}

/// Writes the command line behind the code area, as SymShell passes it: `path`,
/// the user's `args`, and SymShell's ` %spPPXXYYVV` (shell process id, terminal
/// width and height, version 2.1 as `21`), cut to 255 bytes and 0-terminated.
pub fn write_command_line(
    mem: &mut [u8; 0x1_0000],
    layout: &Layout,
    path: &str,
    args: &str,
    shell: u8,
    size: (u8, u8),
) {
    let mut line = String::from(path);
    if !args.is_empty() {
        line.push(' ');
        line.push_str(args);
    }
    let two = |n: u8| [b'0' + n / 10 % 10, b'0' + n % 10];
    let mut tail = alloc::vec::Vec::from(&b" %sp"[..]);
    for n in [shell, size.0, size.1, 21] {
        tail.extend_from_slice(&two(n));
    }
    let at = layout.command_line as usize;
    let buf = &mut mem[at..at + COMMAND_LINE];
    buf.fill(0);
    let room = COMMAND_LINE - 1 - tail.len();
    let body = &line.as_bytes()[..line.len().min(room)];
    buf[..body.len()].copy_from_slice(body);
    buf[body.len()..body.len() + tail.len()].copy_from_slice(&tail);
}
