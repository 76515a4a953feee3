//! The in-memory disk: a CP/M 2.2 directory of extents over numbered allocation
//! blocks, kept in memory (CP/M 2.2 System Interface Guide / Alteration Guide, "Disk
//! Parameter Tables" and "The Directory").
//!
//! What: a fixed number of 32-byte directory slots, each empty or one *extent* of a
//! file (user number, 8.3 name with attribute bits, logical extent number, record
//! count `rc`, allocation map), and a disk of allocation blocks (1 KiB for disks up to
//! 256 blocks, 2 KiB above, as a DPB with 8- or 16-bit block numbers has it). Every
//! directory entry covers 16 KiB (128 records: the extent mask EXM is 0), so one
//! entry is one logical extent and the FCB fields `ex` (low 5 bits) and `s2` (the
//! rest) number it directly. Blocks are allocated on first write and zero-filled;
//! a block never written reads as "unwritten data", so random-access files may be
//! sparse as on a real disk.
//!
//! Why this shape: programs see exactly what a CP/M disk shows them (directory
//! codes 0..3, 4 entries per 128-byte directory record, a DPB and allocation vector
//! that agree with the directory, "directory full" and "disk full" at the real
//! limits) while the host and the kernel can put files on it and read them back by
//! name ([`Disk::put`], [`Disk::get`]).
//!
//! The raw image ([`Disk::read_image`], [`Disk::write_image`]) shows the disk as a
//! drive would hold it (directory blocks, then data blocks) for sector-level users;
//! a raw write is decoded back into directory entries and block contents, and a
//! block is in use exactly when a directory entry holds it.
//!
//! Differences from a real drive: data is written through at once (a close only
//! checks that the file is there), no sectors or tracks exist for CP/M programs (the
//! BIOS READ/WRITE calls report an error), and a `make` of a name that exists replaces that file from
//! the given extent on instead of creating a duplicate entry.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

/// Bytes in a CP/M record, the unit of every transfer.
pub const RECORD: usize = 128;
/// Records in one extent (one directory entry, 16 KiB).
pub const EXTENT_RECORDS: usize = 128;
/// The largest file CP/M 2.2 can address: 65536 records, 8 MiB.
pub const MAX_RECORDS: u32 = 65_536;
/// Logical extents a file can have.
pub const MAX_EXTENTS: u16 = (MAX_RECORDS / EXTENT_RECORDS as u32) as u16;
/// The text end-of-file mark that pads the last record of a text file.
pub const EOF_MARK: u8 = 0x1a;
/// The user byte of an empty directory slot.
pub const EMPTY: u8 = 0xe5;

/// A disk shared by several processes (and the kernel), behind a lock held for the
/// length of one BDOS call.
pub type SharedDisk = Arc<spin::Mutex<Disk>>;

/// Why a disk operation could not be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskError {
    /// Every directory slot is in use.
    DirectoryFull,
    /// Every allocation block is in use.
    DiskFull,
    /// Larger than CP/M 2.2's 8 MiB.
    TooLarge,
    /// Not a valid `NAME.TYP` (at most 8 and 3 characters, no wildcards).
    BadName,
    /// The geometry asked for cannot be described by a CP/M 2.2 DPB here.
    BadGeometry,
    /// Directory bytes written raw that are not a valid CP/M 2.2 entry here (a user
    /// byte that is neither 0..15 nor E5h, EX over 31, S2 over 15, RC over 128, a
    /// block number inside the directory or past the disk, or a block another entry
    /// holds).
    BadEntry,
    /// A raw write that reaches past the end of the disk image.
    OutOfRange,
}

/// The size of a disk: its blocks and its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Bytes per allocation block: 1024 or 2048.
    pub block_size: usize,
    /// Blocks on the disk, directory blocks included (DSM + 1).
    pub blocks: u16,
    /// Directory slots (DRM + 1), a multiple of 4.
    pub dir_entries: u16,
}

impl Geometry {
    /// The standard 8-inch single-density disk: 243 blocks of 1 KiB, 64 directory
    /// entries in 2 blocks, 241 KiB for files.
    pub const STANDARD: Geometry = Geometry { block_size: 1024, blocks: 243, dir_entries: 64 };

    /// A disk of `kib` KiB with `dir_entries` directory entries: 1 KiB blocks up to
    /// 256 KiB, 2 KiB blocks up to 2 MiB.
    pub fn new(kib: u32, dir_entries: u16) -> Result<Geometry, DiskError> {
        let g = if kib <= 256 {
            Geometry { block_size: 1024, blocks: kib as u16, dir_entries }
        } else {
            Geometry { block_size: 2048, blocks: (kib / 2).min(u16::MAX as u32) as u16, dir_entries }
        };
        let dir_blocks = g.dir_blocks();
        let ok = kib <= 2048
            && dir_entries >= 4
            && dir_entries.is_multiple_of(4)
            && dir_blocks <= 16
            && (dir_blocks as u16) < g.blocks;
        if ok {
            Ok(g)
        } else {
            Err(DiskError::BadGeometry)
        }
    }

    /// Blocks the directory occupies (at the start of the disk).
    pub fn dir_blocks(&self) -> usize {
        (self.dir_entries as usize * 32).div_ceil(self.block_size)
    }

    /// Whether block numbers are 8-bit (16 per entry) or 16-bit (8 per entry).
    pub fn small_blocks(&self) -> bool {
        self.blocks <= 256
    }

    /// Block numbers in one directory entry.
    pub fn blocks_per_entry(&self) -> usize {
        if self.small_blocks() {
            16
        } else {
            8
        }
    }

    /// Records in one block.
    pub fn records_per_block(&self) -> usize {
        self.block_size / RECORD
    }

    /// The 15-byte Disk Parameter Block (Alteration Guide, "Disk Parameter Block").
    pub fn dpb(&self) -> [u8; 15] {
        let bsh: u8 = if self.block_size == 1024 { 3 } else { 4 };
        let blm: u8 = (1u8 << bsh) - 1;
        let dsm = self.blocks - 1;
        let drm = self.dir_entries - 1;
        let al: u16 = !(u16::MAX >> self.dir_blocks());
        let mut d = [0u8; 15];
        d[0..2].copy_from_slice(&64u16.to_le_bytes()); // SPT: records per (notional) track
        d[2] = bsh;
        d[3] = blm;
        d[4] = 0; // EXM: one extent per entry
        d[5..7].copy_from_slice(&dsm.to_le_bytes());
        d[7..9].copy_from_slice(&drm.to_le_bytes());
        d[9] = (al >> 8) as u8;
        d[10] = al as u8;
        d[11..13].copy_from_slice(&0u16.to_le_bytes()); // CKS: fixed disk, no checks
        d[13..15].copy_from_slice(&0u16.to_le_bytes()); // OFF: no reserved tracks
        d
    }
}

/// One directory entry: an extent of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// User number 0..15.
    pub user: u8,
    /// Name and type as stored: upper case, space padded, attribute bits in bit 7
    /// (f1'..f4' interface attributes, t1' read-only, t2' system, t3' archived).
    pub name: [u8; 11],
    /// Logical extent number: `ex` + 32 * `s2`.
    pub extent: u16,
    /// The S1 byte, kept as written (0 unless a raw directory write set it; the BDOS
    /// does not use it).
    pub s1: u8,
    /// Records in this extent (0..=128).
    pub rc: u8,
    /// Block numbers; 0 = not allocated.
    pub alloc: [u16; 16],
}

impl Entry {
    /// The entry as its 32 directory bytes.
    pub fn bytes(&self, g: &Geometry) -> [u8; 32] {
        let mut d = [0u8; 32];
        d[0] = self.user;
        d[1..12].copy_from_slice(&self.name);
        d[12] = (self.extent & 0x1f) as u8;
        d[13] = self.s1;
        d[14] = (self.extent >> 5) as u8;
        d[15] = self.rc;
        d[16..32].copy_from_slice(&alloc_bytes(&self.alloc, g));
        d
    }

    /// Decodes 32 directory bytes: `None` for an empty slot (user byte E5h; the other
    /// bytes of an empty slot are not kept), or the entry. Refused
    /// ([`DiskError::BadEntry`]) when a field is out of range for CP/M 2.2 on
    /// geometry `g`; see [`DiskError::BadEntry`].
    pub fn decode(d: &[u8; 32], g: &Geometry) -> Result<Option<Entry>, DiskError> {
        if d[0] == EMPTY {
            return Ok(None);
        }
        let (user, ex, s1, s2, rc) = (d[0], d[12], d[13], d[14], d[15]);
        if user > 15 || ex > 31 || s2 as u16 >= MAX_EXTENTS / 32 || rc as usize > EXTENT_RECORDS {
            return Err(DiskError::BadEntry);
        }
        let mut alloc = [0u16; 16];
        if g.small_blocks() {
            for (n, &b) in alloc.iter_mut().zip(d[16..32].iter()) {
                *n = b as u16;
            }
        } else {
            for (i, n) in alloc.iter_mut().take(8).enumerate() {
                *n = u16::from_le_bytes([d[16 + 2 * i], d[17 + 2 * i]]);
            }
        }
        for (i, &b) in alloc.iter().enumerate().filter(|&(_, &b)| b != 0) {
            let inside = (b as usize) >= g.dir_blocks() && b < g.blocks;
            if !inside || alloc[..i].contains(&b) {
                return Err(DiskError::BadEntry);
            }
        }
        let mut name = [0u8; 11];
        name.copy_from_slice(&d[1..12]);
        Ok(Some(Entry { user, name, extent: ex as u16 | (s2 as u16) << 5, s1, rc, alloc }))
    }

    /// The blocks the entry holds (its nonzero block numbers).
    fn held(&self) -> impl Iterator<Item = usize> + '_ {
        self.alloc.iter().filter(|&&b| b != 0).map(|&b| b as usize)
    }
}

/// The allocation map as the 16 bytes of a directory entry or FCB.
pub(crate) fn alloc_bytes(alloc: &[u16; 16], g: &Geometry) -> [u8; 16] {
    let mut d = [0u8; 16];
    if g.small_blocks() {
        for (b, &n) in d.iter_mut().zip(alloc.iter()) {
            *b = n as u8;
        }
    } else {
        for (i, &n) in alloc.iter().take(8).enumerate() {
            d[2 * i..2 * i + 2].copy_from_slice(&n.to_le_bytes());
        }
    }
    d
}

/// Whether stored name `name` matches `pattern` ('?' matches anything; attribute
/// bits and case are ignored).
pub(crate) fn name_matches(pattern: &[u8; 11], name: &[u8; 11]) -> bool {
    pattern.iter().zip(name.iter()).all(|(&p, &n)| p == b'?' || fold(p) == fold(n))
}

/// A name byte without its attribute bit, in upper case.
pub(crate) fn fold(b: u8) -> u8 {
    (b & 0x7f).to_ascii_uppercase()
}

/// The CP/M disk: a directory and its blocks.
pub struct Disk {
    geometry: Geometry,
    dir: Vec<Option<Entry>>,
    /// Block contents by block number; the directory's blocks are never `Some`.
    /// Whether a block is in use follows the directory alone ([`Disk::allocated`]):
    /// a block written raw that no entry holds keeps its bytes but is free.
    blocks: Vec<Option<Box<[u8]>>>,
}

impl Default for Disk {
    fn default() -> Self {
        Disk::new()
    }
}

impl core::fmt::Debug for Disk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Disk").field("geometry", &self.geometry).field("files", &self.names()).finish()
    }
}

impl Disk {
    /// An empty disk of the standard geometry ([`Geometry::STANDARD`]).
    pub fn new() -> Disk {
        Disk::with_geometry(Geometry::STANDARD)
    }

    /// An empty disk of geometry `g`.
    pub fn with_geometry(g: Geometry) -> Disk {
        Disk { geometry: g, dir: vec![None; g.dir_entries as usize], blocks: vec![None; g.blocks as usize] }
    }

    /// This disk behind a lock, to share between processes.
    pub fn into_shared(self) -> SharedDisk {
        Arc::new(spin::Mutex::new(self))
    }

    /// The geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Puts a file of user 0 on the disk, replacing one of that name. A last partial
    /// record is padded with ^Z (0x1A), CP/M's text end mark.
    pub fn put(&mut self, name: &str, bytes: &[u8]) -> Result<(), DiskError> {
        let key = crate::fcb::parse_name(name).ok_or(DiskError::BadName)?;
        if key.contains(&b'?') {
            return Err(DiskError::BadName);
        }
        if bytes.len() > MAX_RECORDS as usize * RECORD {
            return Err(DiskError::TooLarge);
        }
        self.delete(0, &key);
        let records = bytes.len().div_ceil(RECORD);
        let extents = records.div_ceil(EXTENT_RECORDS).max(1);
        for e in 0..extents {
            self.create(0, key, e as u16)?;
        }
        for r in 0..records {
            let mut rec = [EOF_MARK; RECORD];
            let chunk = &bytes[r * RECORD..bytes.len().min((r + 1) * RECORD)];
            rec[..chunk.len()].copy_from_slice(chunk);
            if let Err(e) = self.write(0, &key, r as u32, &rec) {
                self.delete(0, &key);
                return Err(e);
            }
        }
        Ok(())
    }

    /// The records of file `name` of user 0, from the first to the last written;
    /// unwritten records inside read as zeros. `None` if there is no such file.
    pub fn get(&self, name: &str) -> Option<Vec<u8>> {
        let key = crate::fcb::parse_name(name)?;
        let size = self.file_size(0, &key)?;
        let mut out = vec![0u8; size as usize * RECORD];
        for (r, rec) in out.chunks_mut(RECORD).enumerate() {
            if let Some(data) = self.read(0, &key, r as u32) {
                rec.copy_from_slice(data);
            }
        }
        Some(out)
    }

    /// Removes file `name` of user 0; false if there was none.
    pub fn remove(&mut self, name: &str) -> bool {
        crate::fcb::parse_name(name).is_some_and(|key| self.delete(0, &key) > 0)
    }

    /// The files of user 0 as `NAME.TYP`, in directory order, each once.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in self.dir.iter().flatten().filter(|e| e.user == 0) {
            let n = crate::fcb::format_name(&e.name);
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// Directory slots in use.
    pub fn used_entries(&self) -> usize {
        self.dir.iter().filter(|e| e.is_some()).count()
    }

    /// Blocks free for file data: those no directory entry holds.
    pub fn free_blocks(&self) -> usize {
        self.allocated().iter().filter(|&&used| !used).count()
    }

    /// Which blocks are in use, by block number: the directory's own blocks and every
    /// block a directory entry holds.
    fn allocated(&self) -> Vec<bool> {
        let mut used = vec![false; self.blocks.len()];
        for u in used.iter_mut().take(self.geometry.dir_blocks()) {
            *u = true;
        }
        for b in self.dir.iter().flatten().flat_map(Entry::held) {
            if let Some(u) = used.get_mut(b) {
                *u = true;
            }
        }
        used
    }

    /// Records in file `name` of user 0, from the first to the last written (`None`
    /// if there is no such file). For record-level users (SymbOS's file manager).
    pub fn records(&self, name: &str) -> Option<u32> {
        let key = crate::fcb::parse_name(name)?;
        self.file_size(0, &key)
    }

    /// Record `r` of file `name` of user 0, if it lies inside the file and was written.
    pub fn read_record(&self, name: &str, r: u32) -> Option<&[u8]> {
        let key = crate::fcb::parse_name(name)?;
        self.read(0, &key, r)
    }

    /// Writes record `r` of file `name` of user 0 (which must exist), creating its
    /// extent when the record lies past the extents the file has.
    pub fn write_record(&mut self, name: &str, r: u32, data: &[u8; RECORD]) -> Result<(), DiskError> {
        let key = crate::fcb::parse_name(name).ok_or(DiskError::BadName)?;
        if r >= MAX_RECORDS || key.contains(&b'?') {
            return Err(if r >= MAX_RECORDS { DiskError::TooLarge } else { DiskError::BadName });
        }
        let extent = (r / EXTENT_RECORDS as u32) as u16;
        if self.find(0, &key, None).is_none() {
            return Err(DiskError::BadName);
        }
        if self.find(0, &key, Some(extent)).is_none() {
            self.create(0, key, extent)?;
        }
        self.write(0, &key, r, data)
    }

    /// Renames every extent of file `old` of user 0 to `new` (attribute bits kept);
    /// false if there is no such file.
    pub fn rename(&mut self, old: &str, new: &str) -> Result<bool, DiskError> {
        let from = crate::fcb::parse_name(old).ok_or(DiskError::BadName)?;
        let to = crate::fcb::parse_name(new).ok_or(DiskError::BadName)?;
        if from.contains(&b'?') || to.contains(&b'?') {
            return Err(DiskError::BadName);
        }
        let mut any = false;
        while let Some(slot) = self.find(0, &from, None) {
            if let Some(e) = self.entry_mut(slot) {
                for (b, &n) in e.name.iter_mut().zip(to.iter()) {
                    *b = (*b & 0x80) | fold(n);
                }
            }
            any = true;
            if from == to {
                break;
            }
        }
        Ok(any)
    }

    /// Bytes of the whole disk as a drive would hold them.
    pub fn image_len(&self) -> usize {
        self.geometry.blocks as usize * self.geometry.block_size
    }

    /// Copies the disk's bytes from `offset` into `out`, as a raw image: block 0 on
    /// holds the directory (32 bytes a slot, 0xE5 where empty), then each block's
    /// data (0xE5 where never allocated, as on a freshly formatted disk). Bytes past
    /// the end read as 0xE5. For sector-level readers (SymbOS's STOTRN).
    pub fn read_image(&self, offset: usize, out: &mut [u8]) {
        let bs = self.geometry.block_size;
        let dir_bytes = self.geometry.dir_blocks() * bs;
        for (i, b) in out.iter_mut().enumerate() {
            let at = offset + i;
            *b = if at < dir_bytes {
                let slot = at / 32;
                if slot < self.dir.len() {
                    self.slot_bytes(slot)[at % 32]
                } else {
                    EMPTY
                }
            } else {
                match self.blocks.get(at / bs) {
                    Some(Some(data)) => data[at % bs],
                    _ => EMPTY,
                }
            };
        }
    }

    /// Writes `data` into the raw image at `offset`, the inverse of
    /// [`Disk::read_image`] for sector-level writers (SymbOS's STOTRN).
    ///
    /// Bytes in the directory's slots are decoded back into entries
    /// ([`Entry::decode`]): each slot the write touches is rebuilt from its present 32
    /// bytes with the written ones laid over them. A slot that does not decode, or that
    /// now holds a block another entry holds, refuses the whole write
    /// ([`DiskError::BadEntry`]) and the disk is left unchanged; so does a write past
    /// the end of the image ([`DiskError::OutOfRange`]). Bytes of the directory's
    /// blocks past its last slot (which read as E5h) are ignored. A block an entry
    /// newly holds that has no contents gets the E5h-filled contents the image showed
    /// for it. Bytes in the data region go into the block store whether or not an
    /// entry holds the block (an unheld block keeps them, stays free, and is zeroed
    /// when the BDOS allocates it). What is not kept: the bytes after the user byte of
    /// an empty slot (they read back as E5h). Everything else reads back as written.
    pub fn write_image(&mut self, offset: usize, data: &[u8]) -> Result<(), DiskError> {
        let g = self.geometry;
        let bs = g.block_size;
        let end = offset.checked_add(data.len()).filter(|&e| e <= self.image_len()).ok_or(DiskError::OutOfRange)?;
        let slot_end = end.min(self.dir.len() * 32);
        let mut changed: Vec<(usize, Option<Entry>)> = Vec::new();
        for slot in offset / 32..slot_end.div_ceil(32) {
            let mut raw = self.slot_bytes(slot);
            let base = slot * 32;
            let (from, to) = (base.max(offset), (base + 32).min(end));
            raw[from - base..to - base].copy_from_slice(&data[from - offset..to - offset]);
            let e = Entry::decode(&raw, &g)?;
            if e != self.dir[slot] {
                changed.push((slot, e));
            }
        }
        if !changed.is_empty() {
            // No block may be held twice where a changed slot is one of the holders.
            let mut view: Vec<Option<&Entry>> = self.dir.iter().map(Option::as_ref).collect();
            for (slot, e) in &changed {
                view[*slot] = e.as_ref();
            }
            let mut owner: Vec<Option<usize>> = vec![None; self.blocks.len()];
            for (slot, e) in view.iter().enumerate() {
                for b in e.iter().flat_map(|e| e.held()) {
                    if let Some(other) = owner[b] {
                        if changed.iter().any(|&(c, _)| c == slot || c == other) {
                            return Err(DiskError::BadEntry);
                        }
                    }
                    owner[b] = Some(slot);
                }
            }
        }
        for (slot, e) in changed {
            for b in e.iter().flat_map(|e| e.held()) {
                self.blocks[b].get_or_insert_with(|| vec![EMPTY; bs].into_boxed_slice());
            }
            self.dir[slot] = e;
        }
        let mut at = offset.max(g.dir_blocks() * bs);
        while at < end {
            let stop = end.min((at / bs + 1) * bs);
            let block = self.blocks[at / bs].get_or_insert_with(|| vec![EMPTY; bs].into_boxed_slice());
            block[at % bs..at % bs + (stop - at)].copy_from_slice(&data[at - offset..stop - offset]);
            at = stop;
        }
        Ok(())
    }

    // The operations the BDOS builds on.

    pub(crate) fn slots(&self) -> usize {
        self.dir.len()
    }

    pub(crate) fn entry(&self, slot: usize) -> Option<&Entry> {
        self.dir.get(slot).and_then(|e| e.as_ref())
    }

    pub(crate) fn entry_mut(&mut self, slot: usize) -> Option<&mut Entry> {
        self.dir.get_mut(slot).and_then(|e| e.as_mut())
    }

    /// The 32 directory bytes of slot `slot` (0xE5-filled if empty).
    pub(crate) fn slot_bytes(&self, slot: usize) -> [u8; 32] {
        match self.entry(slot) {
            Some(e) => e.bytes(&self.geometry),
            None => [EMPTY; 32],
        }
    }

    /// The first slot from `from` holding an extent of user `user` whose name matches
    /// `pattern` and, if given, whose extent number is `extent`.
    pub(crate) fn find_from(&self, from: usize, user: u8, pattern: &[u8; 11], extent: Option<u16>) -> Option<usize> {
        (from..self.dir.len()).find(|&i| {
            self.dir[i].as_ref().is_some_and(|e| {
                e.user == user && name_matches(pattern, &e.name) && extent.is_none_or(|x| x == e.extent)
            })
        })
    }

    pub(crate) fn find(&self, user: u8, pattern: &[u8; 11], extent: Option<u16>) -> Option<usize> {
        self.find_from(0, user, pattern, extent)
    }

    /// A new empty extent; the name is stored as given (attribute bits too).
    pub(crate) fn create(&mut self, user: u8, name: [u8; 11], extent: u16) -> Result<usize, DiskError> {
        let slot = self.dir.iter().position(|e| e.is_none()).ok_or(DiskError::DirectoryFull)?;
        let mut name = name;
        for b in name.iter_mut() {
            *b = (*b & 0x80) | fold(*b);
        }
        self.dir[slot] = Some(Entry { user, name, extent, s1: 0, rc: 0, alloc: [0; 16] });
        Ok(slot)
    }

    /// Removes the entry in `slot` and frees its blocks.
    pub(crate) fn free_slot(&mut self, slot: usize) {
        if let Some(e) = self.dir.get_mut(slot).and_then(|e| e.take()) {
            for &b in e.alloc.iter().filter(|&&b| b != 0) {
                if let Some(block) = self.blocks.get_mut(b as usize) {
                    *block = None;
                }
            }
        }
    }

    /// Deletes every extent of the files matching `pattern`; how many entries went.
    pub(crate) fn delete(&mut self, user: u8, pattern: &[u8; 11]) -> usize {
        let mut n = 0;
        while let Some(slot) = self.find(user, pattern, None) {
            self.free_slot(slot);
            n += 1;
        }
        n
    }

    /// The record count of the file: the last extent's base plus its rc.
    pub(crate) fn file_size(&self, user: u8, pattern: &[u8; 11]) -> Option<u32> {
        self.dir
            .iter()
            .flatten()
            .filter(|e| e.user == user && name_matches(pattern, &e.name))
            .map(|e| e.extent as u32 * EXTENT_RECORDS as u32 + e.rc as u32)
            .max()
    }

    /// Record `cr` (0..128) of the extent in `slot`, if it lies below rc and its block
    /// was written.
    pub(crate) fn read_in(&self, slot: usize, cr: usize) -> Option<&[u8]> {
        let e = self.entry(slot)?;
        if cr >= e.rc as usize {
            return None;
        }
        let rpb = self.geometry.records_per_block();
        let b = e.alloc[cr / rpb] as usize;
        let block = self.blocks.get(b)?.as_ref()?;
        let at = (cr % rpb) * RECORD;
        Some(&block[at..at + RECORD])
    }

    /// Writes record `cr` (0..128) of the extent in `slot`, allocating its block if
    /// needed (the first block no entry holds, zero-filled); rc grows to cover it.
    pub(crate) fn write_in(&mut self, slot: usize, cr: usize, data: &[u8]) -> Result<(), DiskError> {
        let rpb = self.geometry.records_per_block();
        let bs = self.geometry.block_size;
        let first = self.geometry.dir_blocks();
        let e = self.dir.get(slot).and_then(|e| e.as_ref()).ok_or(DiskError::DirectoryFull)?;
        let mut b = e.alloc[cr / rpb] as usize;
        if b == 0 {
            let used = self.allocated();
            b = (first..self.blocks.len()).find(|&i| !used[i]).ok_or(DiskError::DiskFull)?;
            self.blocks[b] = Some(vec![0u8; bs].into_boxed_slice());
        }
        let e = self.dir[slot].as_mut().ok_or(DiskError::DirectoryFull)?;
        e.alloc[cr / rpb] = b as u16;
        e.rc = e.rc.max(cr as u8 + 1);
        let block = self.blocks[b].get_or_insert_with(|| vec![EMPTY; bs].into_boxed_slice());
        let at = (cr % rpb) * RECORD;
        block[at..at + RECORD].copy_from_slice(&data[..RECORD]);
        Ok(())
    }

    /// Record `r` of a file, by record number.
    fn read(&self, user: u8, key: &[u8; 11], r: u32) -> Option<&[u8]> {
        let slot = self.find(user, key, Some((r / EXTENT_RECORDS as u32) as u16))?;
        self.read_in(slot, r as usize % EXTENT_RECORDS)
    }

    /// Writes record `r` of a file whose extent exists.
    fn write(&mut self, user: u8, key: &[u8; 11], r: u32, data: &[u8]) -> Result<(), DiskError> {
        let slot = self.find(user, key, Some((r / EXTENT_RECORDS as u32) as u16)).ok_or(DiskError::DirectoryFull)?;
        self.write_in(slot, r as usize % EXTENT_RECORDS, data)
    }

    /// The allocation vector: bit 7 of byte 0 is block 0; directory blocks and every
    /// block a directory entry holds are set.
    pub(crate) fn alloc_vector(&self) -> Vec<u8> {
        let mut v = vec![0u8; (self.blocks.len()).div_ceil(8)];
        for (i, _) in self.allocated().iter().enumerate().filter(|&(_, &used)| used) {
            v[i / 8] |= 0x80 >> (i % 8);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_level_access_rename_and_the_raw_image() {
        let mut d = Disk::new();
        d.put("A.TXT", b"hello").unwrap();
        assert_eq!(d.records("A.TXT"), Some(1));
        assert_eq!(d.read_record("a.txt", 0).unwrap()[..6], *b"hello\x1a");
        assert_eq!(d.read_record("A.TXT", 1), None);
        // A record in the second extent creates that extent.
        d.write_record("A.TXT", 200, &[7; RECORD]).unwrap();
        assert_eq!((d.records("A.TXT"), d.used_entries()), (Some(201), 2));
        assert_eq!(d.write_record("NONE.TXT", 0, &[0; RECORD]), Err(DiskError::BadName));
        assert_eq!(d.write_record("A.TXT", MAX_RECORDS, &[0; RECORD]), Err(DiskError::TooLarge));
        assert_eq!(d.rename("A.TXT", "B.TXT"), Ok(true));
        assert_eq!((d.names(), d.records("B.TXT")), (alloc::vec![String::from("B.TXT")], Some(201)));
        assert_eq!(d.rename("A.TXT", "C.TXT"), Ok(false));
        assert_eq!(d.rename("B.TXT", "*.TXT"), Err(DiskError::BadName));
        let mut img = [0u8; 64];
        d.read_image(0, &mut img);
        assert_eq!((img[0], &img[1..12], img[32 + 12]), (0, &b"B       TXT"[..], 1));
        d.read_image(d.image_len() - 8, &mut img[..16]);
        assert!(img[..16].iter().all(|&b| b == EMPTY), "unallocated and past the end");
    }

    #[test]
    fn put_get_round_trip_pads_with_ctrl_z() {
        let mut d = Disk::new();
        d.put("hello.txt", b"Hi there").unwrap();
        let back = d.get("HELLO.TXT").unwrap();
        assert_eq!(back.len(), 128);
        assert_eq!(&back[..8], b"Hi there");
        assert!(back[8..].iter().all(|&b| b == EOF_MARK));
        assert_eq!(d.names(), ["HELLO.TXT"]);
        assert!(d.get("OTHER.TXT").is_none());
    }

    #[test]
    fn a_file_over_16k_takes_one_entry_per_extent() {
        let mut d = Disk::new();
        let data: Vec<u8> = (0..40_000u32).map(|i| (i * 7) as u8).collect();
        d.put("BIG.DAT", &data).unwrap();
        assert_eq!(d.used_entries(), 3);
        assert_eq!(&d.get("BIG.DAT").unwrap()[..40_000], &data[..]);
        assert_eq!(d.file_size(0, &crate::fcb::parse_name("BIG.DAT").unwrap()), Some(313));
        // 40 000 bytes = 313 records = 40 blocks of 1 KiB.
        assert_eq!(d.free_blocks(), 241 - 40);
        assert!(d.remove("BIG.DAT"));
        assert_eq!((d.used_entries(), d.free_blocks()), (0, 241));
    }

    #[test]
    fn directory_and_disk_fill_up() {
        let mut d = Disk::with_geometry(Geometry::new(8, 4).unwrap());
        // 8 blocks, 1 of them the directory: 7 KiB of data, 4 entries.
        assert_eq!(d.put("A.DAT", &[1u8; 8192]), Err(DiskError::DiskFull));
        assert_eq!(d.used_entries(), 0, "a failed put leaves nothing behind");
        d.put("A.DAT", &[1u8; 7168]).unwrap();
        assert_eq!(d.free_blocks(), 0);
        for n in ["B", "C", "D"] {
            d.put(n, b"").unwrap();
        }
        assert_eq!(d.put("E", b""), Err(DiskError::DirectoryFull));
        assert_eq!(d.alloc_vector(), [0xff]);
    }

    #[test]
    fn geometry_and_dpb() {
        let g = Geometry::STANDARD;
        assert_eq!(g.dpb(), [64, 0, 3, 7, 0, 242, 0, 63, 0, 0xc0, 0, 0, 0, 0, 0]);
        let big = Geometry::new(1024, 256).unwrap();
        assert_eq!((big.block_size, big.blocks, big.dir_blocks(), big.blocks_per_entry()), (2048, 512, 4, 8));
        assert_eq!(big.dpb()[2..11], [4, 15, 0, 0xff, 1, 0xff, 0, 0xf0, 0]);
        assert_eq!(Geometry::new(4096, 64), Err(DiskError::BadGeometry));
        assert_eq!(Geometry::new(100, 6), Err(DiskError::BadGeometry));
        assert!(Disk::new().put("TOO.LONGNAME", b"").is_err());
        assert_eq!(Disk::new().put("A?.TXT", b""), Err(DiskError::BadName));
    }

    /// Seeded generators for the random loops (deterministic runs).
    struct Rng(fastrand::Rng);

    impl Rng {
        fn new(seed: u64) -> Rng {
            Rng(fastrand::Rng::with_seed(seed))
        }

        fn next(&mut self) -> u64 {
            self.0.u64(..)
        }

        fn below(&mut self, n: usize) -> usize {
            self.0.usize(..n)
        }
    }

    /// The geometries the random loops run on: 8-bit block numbers with the
    /// directory filling its block or not, and 16-bit block numbers.
    fn random_disks() -> [Disk; 3] {
        [(16, 16), (8, 4), (600, 32)].map(|(kib, dir)| Disk::with_geometry(Geometry::new(kib, dir).unwrap()))
    }

    fn image(d: &Disk) -> Vec<u8> {
        let mut v = vec![0u8; d.image_len()];
        d.read_image(0, &mut v);
        v
    }

    /// The disk's invariants: entries decode, no block is held twice, every held
    /// block has contents, the free count and allocation vector follow the
    /// directory, and the whole image written raw to a fresh disk gives it back.
    fn check(d: &Disk) {
        let g = d.geometry;
        let mut held = vec![false; d.blocks.len()];
        for (slot, e) in d.dir.iter().enumerate() {
            let Some(e) = e else { continue };
            assert_eq!(Entry::decode(&e.bytes(&g), &g), Ok(Some(e.clone())), "slot {slot}");
            for b in e.held() {
                assert!(!held[b], "block {b} held twice");
                held[b] = true;
                assert!(d.blocks[b].is_some(), "held block {b} has contents");
            }
        }
        assert!(d.blocks[..g.dir_blocks()].iter().all(Option::is_none));
        let used = held.iter().filter(|&&h| h).count();
        assert_eq!(d.free_blocks(), g.blocks as usize - g.dir_blocks() - used);
        let v = d.alloc_vector();
        for (i, &h) in held.iter().enumerate() {
            assert_eq!(v[i / 8] & (0x80 >> (i % 8)) != 0, h || i < g.dir_blocks(), "block {i}");
        }
        let img = image(d);
        let mut copy = Disk::with_geometry(g);
        copy.write_image(0, &img).unwrap();
        assert_eq!(image(&copy), img);
        assert_eq!(copy.dir, d.dir);
    }

    /// A directory entry's 32 bytes.
    fn raw_entry(user: u8, name: &[u8; 11], ex: u8, s2: u8, rc: u8, alloc: &[u8]) -> [u8; 32] {
        let mut e = [0u8; 32];
        e[0] = user;
        e[1..12].copy_from_slice(name);
        (e[12], e[14], e[15]) = (ex, s2, rc);
        e[16..16 + alloc.len()].copy_from_slice(alloc);
        e
    }

    #[test]
    fn a_file_written_as_raw_sectors_reads_through_the_disk_api() {
        let mut d = Disk::new();
        // Directory sector 0: one entry of 10 records in blocks 5 and 6.
        let mut sector = [EMPTY; 512];
        sector[..32].copy_from_slice(&raw_entry(0, b"RAW     TXT", 0, 0, 10, &[5, 6]));
        d.write_image(0, &sector).unwrap();
        let data: Vec<u8> = (0..2048u32).map(|i| (i * 3 + 1) as u8).collect();
        d.write_image(5 * 1024, &data).unwrap();
        assert_eq!(d.names(), ["RAW.TXT"]);
        assert_eq!(d.records("RAW.TXT"), Some(10));
        assert_eq!(d.get("RAW.TXT").unwrap(), &data[..1280]);
        assert_eq!(d.free_blocks(), 241 - 2);
        // The BDOS allocates around it and the file grows through the Disk API.
        d.write_record("RAW.TXT", 16, &[9; RECORD]).unwrap();
        d.put("NEW.TXT", &[4u8; 1500]).unwrap();
        assert_eq!(d.read_record("RAW.TXT", 16), Some(&[9u8; RECORD][..]));
        assert_eq!(&d.get("RAW.TXT").unwrap()[..1280], &data[..1280]);
        assert_eq!(&d.get("NEW.TXT").unwrap()[..1500], &[4u8; 1500][..]);
        let mut back = [0u8; 32];
        d.read_image(32, &mut back);
        assert_eq!(
            (&back[1..12], back[16], back[17]),
            (&b"NEW     TXT"[..], 3, 4),
            "first free blocks (2 went to record 16)"
        );
        check(&d);
        // 16-bit block numbers on a large disk.
        let mut big = Disk::with_geometry(Geometry::new(1024, 64).unwrap());
        let mut e = raw_entry(3, b"BIG     DAT", 1, 0, 16, &[]);
        e[16..18].copy_from_slice(&300u16.to_le_bytes());
        big.write_image(64, &e).unwrap();
        big.write_image(300 * 2048, &[0x42; 2048]).unwrap();
        assert_eq!(big.read_in(2, 15), Some(&[0x42u8; RECORD][..]));
        assert_eq!(big.file_size(3, b"BIG     DAT"), Some(128 + 16));
        check(&big);
    }

    #[test]
    fn a_data_sector_patched_raw_reads_back_patched() {
        let mut d = Disk::new();
        d.put("FILE.TXT", &[b'a'; 3000]).unwrap();
        let mut dir = [0u8; 32];
        d.read_image(0, &mut dir);
        let second = dir[17] as usize;
        d.write_image(second * 1024 + 512, &[b'Z'; 512]).unwrap();
        let back = d.get("FILE.TXT").unwrap();
        assert_eq!(&back[1024 + 512..2048], &[b'Z'; 512][..]);
        assert!(back[..1024 + 512].iter().all(|&b| b == b'a'));
        assert!(back[2048..3000].iter().all(|&b| b == b'a'));
        // Unaligned writes across a block boundary read back exactly.
        d.write_image(second * 1024 - 7, b"fourteen bytes").unwrap();
        let mut out = [0u8; 14];
        d.read_image(second * 1024 - 7, &mut out);
        assert_eq!(&out, b"fourteen bytes");
        check(&d);
    }

    #[test]
    fn invalid_directory_bytes_are_refused_and_change_nothing() {
        let mut d = Disk::new();
        d.put("KEEP.TXT", &[1u8; 2000]).unwrap();
        let before = image(&d);
        let held = before[16];
        let bad: [[u8; 32]; 8] = [
            raw_entry(16, b"X       TXT", 0, 0, 1, &[10]),   // user 16
            raw_entry(0x20, b"X       TXT", 0, 0, 1, &[10]), // a CP/M 3 label
            raw_entry(0, b"X       TXT", 32, 0, 1, &[10]),   // EX over 31
            raw_entry(0, b"X       TXT", 0, 16, 1, &[10]),   // S2 past 8 MiB
            raw_entry(0, b"X       TXT", 0, 0, 129, &[10]),  // RC over 128
            raw_entry(0, b"X       TXT", 0, 0, 1, &[1]),     // inside the directory
            raw_entry(0, b"X       TXT", 0, 0, 1, &[243]),   // past the disk
            raw_entry(0, b"X       TXT", 0, 0, 1, &[held]),  // held by KEEP.TXT
        ];
        for (i, e) in bad.iter().enumerate() {
            let mut sector = before[..512].to_vec();
            sector[64..96].copy_from_slice(e);
            sector[32 * 10..32 * 11].copy_from_slice(&raw_entry(0, b"OK      TXT", 0, 0, 0, &[])); // a valid one too
            assert_eq!(d.write_image(0, &sector), Err(DiskError::BadEntry), "entry {i}");
            assert_eq!(image(&d), before, "entry {i} left the disk unchanged");
        }
        let twice = raw_entry(0, b"X       TXT", 0, 0, 1, &[10, 10]);
        assert_eq!(d.write_image(64, &twice), Err(DiskError::BadEntry));
        assert_eq!(d.write_image(d.image_len() - 4, &[0; 5]), Err(DiskError::OutOfRange));
        assert_eq!(d.write_image(usize::MAX, &[0]), Err(DiskError::OutOfRange));
        assert_eq!(image(&d), before);
        // Emptying KEEP.TXT's slot raw (user byte E5h) frees its blocks.
        d.write_image(0, &[EMPTY]).unwrap();
        assert_eq!((d.names().len(), d.free_blocks()), (0, 241));
        check(&d);
    }

    #[test]
    fn raw_writes_read_back_exactly() {
        let mut rng = Rng::new(0x5eed_1234_abcd);
        for mut d in random_disks() {
            let g = d.geometry;
            for _ in 0..200 {
                // Data region: any bytes read back exactly.
                let at = g.dir_blocks() * g.block_size + rng.below(d.image_len() - g.dir_blocks() * g.block_size);
                let len = rng.below(1500).min(d.image_len() - at);
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                d.write_image(at, &bytes).unwrap();
                let mut out = vec![0u8; len];
                d.read_image(at, &mut out);
                assert_eq!(out, bytes);
                // Directory: a valid entry (a fresh block, no other holder) reads back.
                let slot = rng.below(g.dir_entries as usize);
                let free = (g.dir_blocks()..g.blocks as usize).find(|&b| !d.allocated()[b]);
                let mut e = raw_entry(
                    rng.below(16) as u8,
                    b"R?ND    $$$",
                    rng.below(32) as u8,
                    rng.below(16) as u8,
                    rng.below(129) as u8,
                    &[],
                );
                e[13] = rng.next() as u8;
                if let Some(b) = free.filter(|_| d.slot_bytes(slot)[0] == EMPTY) {
                    e[16] = b as u8;
                    e[17] = if g.small_blocks() { 0 } else { (b >> 8) as u8 };
                }
                if d.write_image(slot * 32, &e).is_ok() {
                    let mut out = [0u8; 32];
                    d.read_image(slot * 32, &mut out);
                    assert_eq!(out, e);
                }
            }
            check(&d);
        }
    }

    #[test]
    fn random_sector_writes_never_panic_and_keep_the_disk_consistent() {
        let mut rng = Rng::new(0x0123_4567_89ab_cdef);
        for mut d in random_disks() {
            let g = d.geometry;
            let rounds = if g.blocks > 256 { 150 } else { 1500 };
            for round in 0..rounds {
                match rng.below(6) {
                    0 => {
                        let _ = d.put(["A.TXT", "B.DAT", "C"][rng.below(3)], &vec![round as u8; rng.below(5000)]);
                    }
                    1 => {
                        let _ = d.remove(["A.TXT", "B.DAT", "C"][rng.below(3)]);
                    }
                    2 => {
                        let _ = d.write_record("A.TXT", rng.below(300) as u32, &[7; RECORD]);
                    }
                    _ => {
                        // A sector (sometimes unaligned, half of them in the directory) of the
                        // present image, with a few bytes set to values a directory holds.
                        let dir_bytes = g.dir_entries as usize * 32;
                        let at = match rng.below(4) {
                            0 => rng.below(d.image_len() + 64),
                            1 => rng.below(dir_bytes),
                            2 => rng.below(dir_bytes.div_ceil(512)) * 512,
                            _ => rng.below(d.image_len() / 512) * 512,
                        };
                        let len = 512.min(d.image_len().saturating_sub(at));
                        let mut bytes = vec![EMPTY; len];
                        d.read_image(at, &mut bytes);
                        for _ in 0..rng.below(4).min(len) {
                            let mut i = rng.below(len);
                            if rng.below(3) == 0 && (at + i) % 32 <= i {
                                // A user byte: empties or fills a slot.
                                i -= (at + i) % 32;
                            }
                            bytes[i] = match rng.below(4) {
                                0 => rng.next() as u8,
                                1 => EMPTY,
                                2 => rng.below(g.blocks.min(256) as usize) as u8,
                                _ => rng.below(20) as u8,
                            };
                        }
                        let before = image(&d);
                        match d.write_image(at, &bytes) {
                            Ok(()) => {
                                let mut out = vec![0u8; len];
                                d.read_image(at, &mut out);
                                for (i, (&o, &b)) in out.iter().zip(bytes.iter()).enumerate() {
                                    // Only the tail of an emptied slot is not kept.
                                    let pos = at + i;
                                    let emptied =
                                        pos < g.dir_entries as usize * 32 && d.slot_bytes(pos / 32)[0] == EMPTY;
                                    let pad = pos < g.dir_blocks() * g.block_size && pos >= g.dir_entries as usize * 32;
                                    assert!(o == b || emptied || pad, "byte {pos}");
                                }
                            }
                            Err(_) => assert_eq!(image(&d), before, "a refused write changes nothing"),
                        }
                    }
                }
                if round % 50 == 0 {
                    check(&d);
                }
            }
            check(&d);
        }
    }
}
