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
//! Differences from a real drive: data is written through at once (a close only
//! checks that the file is there), no sectors or tracks exist (the BIOS READ/WRITE
//! calls report an error), and a `make` of a name that exists replaces that file from
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
        d[13] = 0;
        d[14] = (self.extent >> 5) as u8;
        d[15] = self.rc;
        d[16..32].copy_from_slice(&alloc_bytes(&self.alloc, g));
        d
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

    /// Blocks free for file data.
    pub fn free_blocks(&self) -> usize {
        self.blocks.iter().skip(self.geometry.dir_blocks()).filter(|b| b.is_none()).count()
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
        self.dir[slot] = Some(Entry { user, name, extent, rc: 0, alloc: [0; 16] });
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
    /// needed; rc grows to cover it.
    pub(crate) fn write_in(&mut self, slot: usize, cr: usize, data: &[u8]) -> Result<(), DiskError> {
        let rpb = self.geometry.records_per_block();
        let bs = self.geometry.block_size;
        let first = self.geometry.dir_blocks();
        let e = self.dir.get(slot).and_then(|e| e.as_ref()).ok_or(DiskError::DirectoryFull)?;
        let mut b = e.alloc[cr / rpb] as usize;
        if b == 0 {
            b = (first..self.blocks.len()).find(|&i| self.blocks[i].is_none()).ok_or(DiskError::DiskFull)?;
            self.blocks[b] = Some(vec![0u8; bs].into_boxed_slice());
        }
        let e = self.dir[slot].as_mut().ok_or(DiskError::DirectoryFull)?;
        e.alloc[cr / rpb] = b as u16;
        e.rc = e.rc.max(cr as u8 + 1);
        let block = self.blocks[b].as_mut().ok_or(DiskError::DiskFull)?;
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

    /// The allocation vector: bit 7 of byte 0 is block 0; directory blocks are set.
    pub(crate) fn alloc_vector(&self) -> Vec<u8> {
        let mut v = vec![0u8; (self.blocks.len()).div_ceil(8)];
        for (i, b) in self.blocks.iter().enumerate() {
            if b.is_some() || i < self.geometry.dir_blocks() {
                v[i / 8] |= 0x80 >> (i % 8);
            }
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
}
