//! The file manager's functions over zbeam's CP/M disk (SymbOS-File.txt).
//!
//! What: a program sends the system manager (id 3) message 26 with a function
//! number and its registers; [`FileManager::call`] performs the function on the
//! registers and the program's memory, and the system manager answers with message
//! 154 and the registers out. Results follow the document: carry clear for success,
//! or carry set and the error code in A.
//!
//! | id | function | here |
//! |---|---|---|
//! | 7 | STOINF | device 0 is the CP/M disk: ready, floppy, Amsdos data, its clusters |
//! | 8 | STOTRN | reads and writes 512-byte sectors of the disk image (written directory sectors are decoded back into the directory) |
//! | 17 | FILNEW | creates (or empties) the file and opens it |
//! | 18 | FILOPN | opens a file; up to 7 at a time (then error 10) |
//! | 19 | FILCLO | frees the handle (writes have reached the disk already) |
//! | 20 | FILINP | reads bytes; Z clear when fewer than asked were there |
//! | 21 | FILOUT | writes bytes at the pointer, growing the file |
//! | 22 | FILPOI | moves the pointer from the start, the pointer or the end |
//! | 25 | FILLIN | reads a line ended by CR, LF, CR LF, LF CR or ^Z |
//! | 35 | DIRPRR | a file's attributes (0) and time stamps (0) |
//! | 36 | DIRREN | renames a file |
//! | 38 | DIRINP | lists the directory (length, time, date, attributes, name) |
//! | 39 | DIRDEL | deletes the files a mask matches |
//! | 42 | DIRINF | drive A: information and free space |
//!
//! Every other function answers carry set and error 29 (not supported by the file
//! system). Paths: an optional drive `A:` (any other drive: error 11), an optional
//! `\` or `/`, and a CP/M name `NAME.TYP` (wildcards `*` and `?` where a mask is
//! allowed); the disk has no directories, so a path through one is error 12. Like
//! SymbOS on an Amsdos or CP/M disk, a file's length is a multiple of 128 bytes (a
//! record written partly is filled up with ^Z). Reads and writes go to the disk's
//! records at once, as CP/M's BDOS does (no file is copied into memory, so a program
//! cannot make the kernel hold more than a record for it). Attributes and time stamps
//! are not kept (read as 0).

use crate::{own_bank, Fault, Memory, Regs, FLAG_Z};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use zbeam_cpm::disk::{EOF_MARK, MAX_RECORDS, RECORD};
use zbeam_cpm::{fcb, DiskError, SharedDisk};

/// File manager function ids.
pub mod func {
    /// Storage information.
    pub const STOINF: u8 = 7;
    /// Sector transfer.
    pub const STOTRN: u8 = 8;
    /// New file.
    pub const FILNEW: u8 = 17;
    /// Open.
    pub const FILOPN: u8 = 18;
    /// Close.
    pub const FILCLO: u8 = 19;
    /// Read bytes.
    pub const FILINP: u8 = 20;
    /// Write bytes.
    pub const FILOUT: u8 = 21;
    /// Move the pointer.
    pub const FILPOI: u8 = 22;
    /// Read a line.
    pub const FILLIN: u8 = 25;
    /// Read a property.
    pub const DIRPRR: u8 = 35;
    /// Rename.
    pub const DIRREN: u8 = 36;
    /// Read the directory.
    pub const DIRINP: u8 = 38;
    /// Delete files.
    pub const DIRDEL: u8 = 39;
    /// Drive information.
    pub const DIRINF: u8 = 42;
}

/// File manager error codes used here.
pub mod err {
    /// Device does not exist.
    pub const NO_DEVICE: u8 = 0;
    /// Error while positioning.
    pub const SEEK: u8 = 7;
    /// No free file handler.
    pub const NO_HANDLE: u8 = 10;
    /// Device (drive) does not exist.
    pub const NO_DRIVE: u8 = 11;
    /// Path does not exist.
    pub const NO_PATH: u8 = 12;
    /// File does not exist.
    pub const NO_FILE: u8 = 13;
    /// Invalid path or file name.
    pub const BAD_NAME: u8 = 15;
    /// File handler does not exist.
    pub const BAD_HANDLE: u8 = 16;
    /// Invalid destination name.
    pub const BAD_DEST: u8 = 19;
    /// File already exists.
    pub const EXISTS: u8 = 20;
    /// Directory full.
    pub const DIR_FULL: u8 = 23;
    /// Media full.
    pub const FULL: u8 = 24;
    /// Error in file organisation (a directory sector that does not decode).
    pub const ORGANISATION: u8 = 18;
    /// Wrong sub command code.
    pub const SUBCOMMAND: u8 = 21;
    /// Not supported by the file system.
    pub const UNSUPPORTED: u8 = 29;
    /// Undefined error.
    pub const UNDEFINED: u8 = 255;
}

/// Files a program may have open at once.
pub const HANDLES: usize = 7;
/// Bytes in a sector (STOTRN).
pub const SECTOR: usize = 512;

#[derive(Debug)]
struct OpenFile {
    name: String,
    pos: u32,
}

/// One program's file manager: its open files over a shared CP/M disk.
pub struct FileManager {
    disk: SharedDisk,
    open: [Option<OpenFile>; HANDLES],
}

impl core::fmt::Debug for FileManager {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FileManager").field("open", &self.open).finish()
    }
}

/// What a path names.
enum Target {
    /// A name or mask (11 bytes, `?` for wildcards).
    Name([u8; 11]),
    /// The directory itself (every file).
    All,
}

fn disk_error(e: DiskError) -> u8 {
    match e {
        DiskError::DirectoryFull => err::DIR_FULL,
        DiskError::DiskFull | DiskError::TooLarge => err::FULL,
        DiskError::BadName => err::BAD_NAME,
        DiskError::BadGeometry => err::UNDEFINED,
        DiskError::BadEntry => err::ORGANISATION,
        DiskError::OutOfRange => err::SEEK,
    }
}

fn matches(pattern: &[u8; 11], name: &[u8; 11]) -> bool {
    pattern.iter().zip(name).all(|(&p, &n)| p == b'?' || p == n)
}

/// Parses a SymbOS path into what it names on drive A:.
fn target(path: &[u8]) -> Result<Target, u8> {
    let mut p = path;
    if p.len() >= 2 && p[1] == b':' {
        if !p[0].eq_ignore_ascii_case(&b'A') {
            return Err(err::NO_DRIVE);
        }
        p = &p[2..];
    }
    let parts: Vec<&[u8]> = p.split(|&b| b == b'\\' || b == b'/').collect();
    let (last, dirs) = parts.split_last().expect("split yields at least one part");
    if dirs.iter().enumerate().any(|(i, d)| !(d.is_empty() && i == 0 || *d == b".")) {
        return Err(err::NO_PATH);
    }
    if last.is_empty() {
        return Ok(Target::All);
    }
    let s = core::str::from_utf8(last).map_err(|_| err::BAD_NAME)?;
    fcb::parse_name(s).map(Target::Name).ok_or(err::BAD_NAME)
}

/// A name without wildcards.
fn exact(path: &[u8]) -> Result<String, u8> {
    match target(path)? {
        Target::Name(n) if !n.contains(&b'?') => Ok(fcb::format_name(&n)),
        _ => Err(err::BAD_NAME),
    }
}

fn ixh(r: &Regs) -> u8 {
    (r.ix >> 8) as u8
}

impl FileManager {
    /// A file manager over `disk`.
    pub fn new(disk: SharedDisk) -> FileManager {
        FileManager { disk, open: Default::default() }
    }

    /// Files open now.
    pub fn open_files(&self) -> usize {
        self.open.iter().flatten().count()
    }

    /// Closes every open file (when the program ends).
    pub fn close_all(&mut self) {
        self.open = Default::default();
    }

    /// Performs file manager function `f` on `r` and `mem`. A buffer or path in
    /// another bank is the program's fault; everything else is answered in `r`.
    pub fn call(&mut self, f: u8, r: &mut Regs, mem: &mut Memory) -> Result<(), Fault> {
        let res = match f {
            func::STOINF => self.storage_info(r),
            func::STOTRN => {
                own_bank(r.de as u8)?;
                self.sectors(r, mem)
            }
            func::FILNEW | func::FILOPN => {
                own_bank(ixh(r))?;
                let path = crate::shell::cstr(mem, r.hl);
                self.open_file(&path, f == func::FILNEW).map(|h| r.set_a(h))
            }
            func::FILCLO => self.close(r.a()),
            func::FILINP => {
                own_bank(r.de as u8)?;
                self.read(r, mem)
            }
            func::FILOUT => {
                own_bank(r.de as u8)?;
                self.write(r, mem)
            }
            func::FILPOI => self.seek(r),
            func::FILLIN => {
                own_bank(r.de as u8)?;
                self.read_line(r, mem)
            }
            func::DIRPRR => {
                own_bank(ixh(r))?;
                let name = exact(&crate::shell::cstr(mem, r.hl));
                match name {
                    Ok(n) if self.disk.lock().records(&n).is_some() => {
                        r.bc = 0;
                        r.de = 0;
                        Ok(())
                    }
                    Ok(_) => Err(err::NO_FILE),
                    Err(e) => Err(e),
                }
            }
            func::DIRREN => {
                own_bank(ixh(r))?;
                let old = crate::shell::cstr(mem, r.hl);
                let new = crate::shell::cstr(mem, r.de);
                self.rename(&old, &new)
            }
            func::DIRINP => {
                own_bank(ixh(r))?;
                own_bank(r.a())?;
                self.directory(r, mem)
            }
            func::DIRDEL => {
                own_bank(ixh(r))?;
                let path = crate::shell::cstr(mem, r.hl);
                self.delete(&path)
            }
            func::DIRINF => self.drive_info(r),
            _ => Err(err::UNSUPPORTED),
        };
        r.set_result(res);
        Ok(())
    }

    fn open_file(&mut self, path: &[u8], create: bool) -> Result<u8, u8> {
        let name = exact(path)?;
        let h = self.open.iter().position(|f| f.is_none()).ok_or(err::NO_HANDLE)?;
        let mut disk = self.disk.lock();
        if create {
            disk.put(&name, &[]).map_err(disk_error)?;
        } else if disk.records(&name).is_none() {
            return Err(err::NO_FILE);
        }
        self.open[h] = Some(OpenFile { name, pos: 0 });
        Ok(h as u8)
    }

    fn close(&mut self, h: u8) -> Result<(), u8> {
        self.open.get_mut(h as usize).and_then(|f| f.take()).map(|_| ()).ok_or(err::BAD_HANDLE)
    }

    /// The open file `h`: its name, pointer and length in bytes (0 if it was deleted
    /// meanwhile).
    fn state(&self, h: u8) -> Result<(String, u32, u32), u8> {
        let f = self.open.get(h as usize).and_then(|f| f.as_ref()).ok_or(err::BAD_HANDLE)?;
        let len = self.disk.lock().records(&f.name).unwrap_or(0) * RECORD as u32;
        Ok((f.name.clone(), f.pos, len))
    }

    fn set_pos(&mut self, h: u8, pos: u32) {
        if let Some(Some(f)) = self.open.get_mut(h as usize) {
            f.pos = pos;
        }
    }

    /// Copies file bytes `from..from + n` (inside the file) to `out`; unwritten
    /// records read as zeros.
    fn copy_out(&self, name: &str, from: u32, n: u32, mut out: impl FnMut(usize, u8)) {
        let disk = self.disk.lock();
        let mut done = 0;
        while done < n {
            let p = from + done;
            let (rec, off) = (p / RECORD as u32, (p % RECORD as u32) as usize);
            let k = (RECORD - off).min((n - done) as usize);
            let data = disk.read_record(name, rec);
            for i in 0..k {
                out(done as usize + i, data.map_or(0, |d| d[off + i]));
            }
            done += k as u32;
        }
    }

    fn read(&mut self, r: &mut Regs, mem: &mut Memory) -> Result<(), u8> {
        let (name, pos, len) = self.state(r.a())?;
        let start = pos.min(len);
        let n = (r.bc as u32).min(len - start);
        let at = r.hl;
        self.copy_out(&name, start, n, |i, b| mem[at.wrapping_add(i as u16) as usize] = b);
        self.set_pos(r.a(), start + n);
        r.set_flag(FLAG_Z, n == r.bc as u32);
        r.bc = n as u16;
        Ok(())
    }

    fn write(&mut self, r: &mut Regs, mem: &mut Memory) -> Result<(), u8> {
        let (name, pos, _) = self.state(r.a())?;
        let mut disk = self.disk.lock();
        let mut done = 0u32;
        while done < r.bc as u32 {
            let p = pos + done;
            let (rec, off) = (p / RECORD as u32, (p % RECORD as u32) as usize);
            let k = (RECORD - off).min((r.bc as u32 - done) as usize);
            // A record is written whole: what it held, or ^Z where it held nothing.
            let mut buf = [EOF_MARK; RECORD];
            if let Some(old) = disk.read_record(&name, rec) {
                buf.copy_from_slice(old);
            }
            for (i, b) in buf[off..off + k].iter_mut().enumerate() {
                *b = mem[r.hl.wrapping_add((done as usize + i) as u16) as usize];
            }
            if disk.write_record(&name, rec, &buf).is_err() {
                break;
            }
            done += k as u32;
        }
        drop(disk);
        self.set_pos(r.a(), pos + done);
        r.set_a((done < r.bc as u32) as u8);
        r.bc = done as u16;
        Ok(())
    }

    fn seek(&mut self, r: &mut Regs) -> Result<(), u8> {
        let (_, pos, len) = self.state(r.a())?;
        let cap = MAX_RECORDS as i64 * RECORD as i64;
        let diff = ((r.iy as u32) << 16 | r.ix as u32) as i64;
        let new = match r.bc as u8 {
            0 => diff,
            1 => pos as i64 + diff as i32 as i64,
            2 => len as i64 + diff as i32 as i64,
            _ => return Err(err::SEEK),
        };
        if !(0..=cap).contains(&new) {
            return Err(err::SEEK);
        }
        self.set_pos(r.a(), new as u32);
        r.iy = (new >> 16) as u16;
        r.ix = new as u16;
        Ok(())
    }

    fn read_line(&mut self, r: &mut Regs, mem: &mut Memory) -> Result<(), u8> {
        let (name, pos, len) = self.state(r.a())?;
        let start = pos.min(len);
        // At most 254 bytes and a line end (two bytes) are looked at.
        let mut window = [0u8; 256];
        let n = 256.min(len - start);
        self.copy_out(&name, start, n, |i, b| window[i] = b);
        let data = &window[..n as usize];
        let mut at = 0usize;
        let mut line = Vec::new();
        let mut ended = false;
        let mut nothing = false;
        loop {
            match data.get(at) {
                None | Some(&EOF_MARK) => {
                    ended = true;
                    nothing = line.is_empty();
                    break;
                }
                Some(&c @ (b'\r' | b'\n')) => {
                    at += 1;
                    let other = if c == b'\r' { b'\n' } else { b'\r' };
                    if data.get(at) == Some(&other) {
                        at += 1;
                    }
                    ended = true;
                    break;
                }
                Some(&c) if line.len() < 254 => {
                    line.push(c);
                    at += 1;
                }
                Some(_) => break,
            }
        }
        self.set_pos(r.a(), start + at as u32);
        for (i, &b) in line.iter().enumerate() {
            mem[r.hl.wrapping_add(i as u16) as usize] = b;
        }
        mem[r.hl.wrapping_add(line.len() as u16) as usize] = 0;
        r.bc = (ended as u16) << 8 | line.len() as u16;
        r.set_flag(FLAG_Z, nothing);
        Ok(())
    }

    fn rename(&mut self, old: &[u8], new: &[u8]) -> Result<(), u8> {
        let old = exact(old)?;
        if new.iter().any(|&b| b == b'\\' || b == b'/' || b == b':') {
            return Err(err::BAD_DEST);
        }
        let new = exact(new).map_err(|_| err::BAD_DEST)?;
        let mut disk = self.disk.lock();
        if disk.records(&old).is_none() {
            return Err(err::NO_FILE);
        }
        if disk.records(&new).is_some() {
            return Err(err::EXISTS);
        }
        disk.rename(&old, &new).map_err(disk_error)?;
        Ok(())
    }

    fn delete(&mut self, path: &[u8]) -> Result<(), u8> {
        let pattern = match target(path)? {
            Target::Name(n) => n,
            Target::All => return Err(err::BAD_NAME),
        };
        let mut disk = self.disk.lock();
        let mut n = 0;
        for name in disk.names() {
            if fcb::parse_name(&name).is_some_and(|k| matches(&pattern, &k)) {
                disk.remove(&name);
                n += 1;
            }
        }
        if n == 0 {
            Err(err::NO_FILE)
        } else {
            Ok(())
        }
    }

    fn directory(&mut self, r: &mut Regs, mem: &mut Memory) -> Result<(), u8> {
        let path = crate::shell::cstr(mem, r.hl);
        let pattern = match target(&path)? {
            Target::Name(n) => n,
            Target::All => [b'?'; 11],
        };
        let disk = self.disk.lock();
        let mut skip = r.iy as usize;
        let (mut at, mut room, mut count) = (r.de, r.bc as usize, 0u16);
        for name in disk.names() {
            if !fcb::parse_name(&name).is_some_and(|k| matches(&pattern, &k)) {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let need = 9 + name.len() + 1;
            if need > room {
                break;
            }
            let len = disk.records(&name).unwrap_or(0) * RECORD as u32;
            let mut entry = vec![0u8; need];
            entry[..4].copy_from_slice(&len.to_le_bytes());
            entry[9..9 + name.len()].copy_from_slice(name.as_bytes());
            for b in entry {
                mem[at as usize] = b;
                at = at.wrapping_add(1);
            }
            room -= need;
            count += 1;
        }
        r.hl = count;
        r.bc = room as u16;
        Ok(())
    }

    fn clusters(&self) -> (u32, u8) {
        let g = self.disk.lock().geometry();
        (g.blocks as u32, (g.block_size / SECTOR) as u8)
    }

    fn storage_info(&mut self, r: &mut Regs) -> Result<(), u8> {
        if r.a() != 0 {
            r.set_a(0);
            return Ok(());
        }
        let (clusters, per) = self.clusters();
        r.set_a(1);
        r.bc = 0x0101;
        r.de = (per as u16) << 8;
        r.iy = (clusters >> 16) as u16;
        r.ix = clusters as u16;
        Ok(())
    }

    fn drive_info(&mut self, r: &mut Regs) -> Result<(), u8> {
        if !r.a().eq_ignore_ascii_case(&b'A') {
            return Err(err::NO_DRIVE);
        }
        let (clusters, per) = self.clusters();
        match r.bc as u8 {
            0 => {
                r.set_a(1);
                r.bc = 0x0101;
                r.de = (per as u16) << 8 | (r.de & 0xff);
            }
            1 => {
                let free = self.disk.lock().free_blocks() as u32 * per as u32;
                r.hl = (free >> 16) as u16;
                r.de = free as u16;
                r.bc = (r.bc & 0xff00) | per as u16;
            }
            _ => return Err(err::UNSUPPORTED),
        }
        r.iy = (clusters >> 16) as u16;
        r.ix = clusters as u16;
        Ok(())
    }

    /// STOTRN: B sectors from sector IY,IX; C = 0 reads them to HL, C = 1 writes
    /// them from HL. The whole range is checked against the image before any
    /// sector moves (error 7). Writes go one sector at a time through
    /// [`zbeam_cpm::Disk::write_image`]: a sector whose directory bytes do not
    /// decode is refused (error 18) and leaves that sector and the ones after it
    /// unwritten, the ones before it written.
    fn sectors(&mut self, r: &mut Regs, mem: &mut Memory) -> Result<(), u8> {
        if r.a() != 0 {
            return Err(err::NO_DEVICE);
        }
        let write = match r.bc as u8 {
            0 => false,
            1 => true,
            _ => return Err(err::SUBCOMMAND),
        };
        let first = ((r.iy as usize) << 16 | r.ix as usize) * SECTOR;
        let n = (r.bc >> 8) as usize;
        let mut disk = self.disk.lock();
        if first + n * SECTOR > disk.image_len() {
            return Err(err::SEEK);
        }
        let mut sector = [0u8; SECTOR];
        for s in 0..n {
            let at = |i: usize| r.hl.wrapping_add((s * SECTOR + i) as u16) as usize;
            if write {
                for (i, b) in sector.iter_mut().enumerate() {
                    *b = mem[at(i)];
                }
                disk.write_image(first + s * SECTOR, &sector).map_err(disk_error)?;
            } else {
                disk.read_image(first + s * SECTOR, &mut sector);
                for (i, &b) in sector.iter().enumerate() {
                    mem[at(i)] = b;
                }
            }
        }
        Ok(())
    }
}
