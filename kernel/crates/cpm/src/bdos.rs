//! The BDOS functions 0..40 and the BIOS entry points, on one process's registers
//! and memory (CP/M 2.2 Interface Guide section 5 "BDOS function calls", which lists
//! each function's entry and returned values; Alteration Guide section 6 for the BIOS).
//!
//! Console: 1 (input with echo), 2 (output), 3 (reader: ^Z), 4 (punch), 5 (list),
//! 6 (direct I/O), 7/8 (IOBYTE), 9 (print to '$'), 10 (line input with ^H/DEL, ^X,
//! ^U, ^R, ^E and ^C editing), 11 (status), 12 (version 2.2). Output keeps CP/M's
//! column count and expands tabs to every 8th column (not for direct I/O).
//!
//! Files: 13..40 on drive A: of the process's [`Disk`] or a [`SharedDisk`], with
//! the FCB fields kept as CP/M keeps them (section 6 "File Control Block Format"):
//! `ex`/`s2` name the extent, `cr` the next record of a sequential transfer, `rc` the
//! records in the extent, `r0..r2` the random record; directory codes 0..3 are the
//! entry's place in its 128-byte directory record, 0xFF "not found".
//!
//! Retry contract: only console input can be missing; a call that needs it returns
//! [`Outcome::WaitForInput`] before changing anything a second call would not redo,
//! and a line being edited (function 10) is kept here between the calls.

use crate::disk::{alloc_bytes, fold, Disk, DiskError, SharedDisk, EXTENT_RECORDS, MAX_EXTENTS, RECORD};
use crate::fcb::{off, FCB_LEN};
use crate::{ConsoleIo, Error, Memory, Outcome, Regs, ALV, BIOS_ENTRIES, BIOS_TRAPS, DEFAULT_DMA, DPB, DPH};
use alloc::boxed::Box;
use alloc::vec::Vec;

/// Where a process's files are.
enum DiskRef {
    /// The process's own disk, made at the first file call.
    Own(Option<Box<Disk>>),
    /// A disk shared with others.
    Shared(SharedDisk),
}

/// The disk locked for one call.
enum DiskGuard<'a> {
    Own(&'a mut Disk),
    Shared(spin::MutexGuard<'a, Disk>),
}

impl core::ops::Deref for DiskGuard<'_> {
    type Target = Disk;
    fn deref(&self) -> &Disk {
        match self {
            DiskGuard::Own(d) => d,
            DiskGuard::Shared(g) => g,
        }
    }
}

impl core::ops::DerefMut for DiskGuard<'_> {
    fn deref_mut(&mut self) -> &mut Disk {
        match self {
            DiskGuard::Own(d) => d,
            DiskGuard::Shared(g) => g,
        }
    }
}

impl DiskRef {
    fn lock(&mut self) -> DiskGuard<'_> {
        match self {
            DiskRef::Own(d) => DiskGuard::Own(d.get_or_insert_with(|| Box::new(Disk::new()))),
            DiskRef::Shared(s) => DiskGuard::Shared(s.lock()),
        }
    }
}

/// A line being read by function 10.
struct Line {
    buf: Vec<u8>,
    /// The console column the line started at.
    start: u16,
}

/// The state of a search (17, then 18).
#[derive(Clone, Copy)]
struct Search {
    /// FCB bytes 0..15 as given to function 17.
    pattern: [u8; 15],
    /// `dr` was '?': every slot matches, empty ones too.
    all: bool,
    /// The slot to look at next.
    next: usize,
}

/// Everything but the disk.
struct State {
    dma: u16,
    user: u8,
    disk_ro: bool,
    column: u16,
    /// An input byte read by a status check, not consumed yet.
    pending: Option<u8>,
    line: Option<Line>,
    search: Option<Search>,
    bytes: usize,
}

/// The CP/M 2.2 BDOS and BIOS of one process.
pub struct Bdos {
    disk: DiskRef,
    st: State,
}

impl Default for Bdos {
    fn default() -> Self {
        Bdos::new()
    }
}

impl Bdos {
    /// A BDOS with a disk of the process's own (empty, standard geometry, made when
    /// first used).
    pub fn new() -> Bdos {
        Bdos::with(DiskRef::Own(None))
    }

    /// A BDOS over `disk`, the process's own.
    pub fn with_disk(disk: Disk) -> Bdos {
        Bdos::with(DiskRef::Own(Some(Box::new(disk))))
    }

    /// A BDOS over a disk shared with others.
    pub fn with_shared(disk: SharedDisk) -> Bdos {
        Bdos::with(DiskRef::Shared(disk))
    }

    fn with(disk: DiskRef) -> Bdos {
        Bdos {
            disk,
            st: State {
                dma: DEFAULT_DMA,
                user: 0,
                disk_ro: false,
                column: 0,
                pending: None,
                line: None,
                search: None,
                bytes: 0,
            },
        }
    }

    /// The process's own disk, if it has one (and has used it).
    pub fn own_disk(&self) -> Option<&Disk> {
        match &self.disk {
            DiskRef::Own(d) => d.as_deref(),
            DiskRef::Shared(_) => None,
        }
    }

    /// Bytes the last call moved (console output, records), for the caller's
    /// accounting.
    pub fn last_bytes(&self) -> usize {
        self.st.bytes
    }

    /// Performs BDOS function `function` (register C).
    pub fn call(&mut self, function: u8, regs: &mut Regs, mem: &mut Memory, io: &mut dyn ConsoleIo) -> Outcome {
        let st = &mut self.st;
        st.bytes = 0;
        let e = regs.de as u8;
        match function {
            0 => return Outcome::Exit,
            1 => return st.console_input(regs, io),
            2 => st.conout(io, e),
            3 => ret8(regs, 0x1a),
            4 => {}
            5 => io.list(e),
            6 if e == 0xff => {
                let c = st.pending.take().or_else(|| io.read()).unwrap_or(0);
                ret8(regs, c);
            }
            6 => {
                io.write(&[e]);
                st.bytes = 1;
            }
            7 => ret8(regs, mem[3]),
            8 => mem[3] = e,
            9 => return st.print(regs.de, mem, io),
            10 => return st.read_line(regs.de, mem, io),
            11 => {
                if st.pending.is_none() {
                    st.pending = io.read();
                }
                ret8(regs, if st.pending.is_some() { 0xff } else { 0 });
            }
            12 => ret16(regs, 0x0022),
            13 => {
                st.dma = DEFAULT_DMA;
                st.disk_ro = false;
                st.search = None;
                mem[4] = st.user << 4;
                ret8(regs, 0);
            }
            14 if e == 0 => ret8(regs, 0),
            14 => return st.fail(io, Error::Select(e)),
            24 => ret16(regs, 0x0001),
            25 => ret8(regs, 0),
            26 => st.dma = regs.de,
            28 => st.disk_ro = true,
            29 => ret16(regs, st.disk_ro as u16),
            32 if e == 0xff => ret8(regs, st.user),
            32 => st.user = e & 0x0f,
            37 => {
                if regs.de & 1 != 0 {
                    st.disk_ro = false;
                }
                ret8(regs, 0);
            }
            15..=23 | 27 | 30 | 31 | 33..=36 | 40 => {
                let mut disk = self.disk.lock();
                return st.file(&mut disk, function, regs, mem, io);
            }
            // 38 and 39 (MP/M drive access and free) and anything above 40 return 0
            // in CP/M 2.2.
            _ => ret16(regs, 0),
        }
        Outcome::Done
    }

    /// Performs the BIOS call whose trapped entry point is `pc` (`BIOS_TRAPS + n`
    /// for jump-table entry n: BOOT, WBOOT, CONST, CONIN, CONOUT, LIST, PUNCH, READER,
    /// HOME, SELDSK, SETTRK, SETSEC, SETDMA, READ, WRITE, LISTST, SECTRAN).
    pub fn bios(&mut self, pc: u16, regs: &mut Regs, mem: &mut Memory, io: &mut dyn ConsoleIo) -> Outcome {
        let st = &mut self.st;
        st.bytes = 0;
        let n = pc.wrapping_sub(BIOS_TRAPS);
        if pc < BIOS_TRAPS || n >= BIOS_ENTRIES {
            return Outcome::Error(Error::BadBiosEntry(pc));
        }
        let c = regs.bc as u8;
        match n {
            0 | 1 => return Outcome::Exit,
            2 => {
                if st.pending.is_none() {
                    st.pending = io.read();
                }
                regs.a = if st.pending.is_some() { 0xff } else { 0 };
            }
            3 => match st.pending.take().or_else(|| io.read()) {
                Some(ch) => regs.a = ch,
                None => return Outcome::WaitForInput,
            },
            4 => {
                io.write(&[c]);
                st.bytes = 1;
            }
            5 => io.list(c),
            7 => regs.a = 0x1a,
            9 if c == 0 => {
                crate::write_disk_tables(mem, &self.disk.lock().geometry());
                regs.hl = DPH;
            }
            9 => regs.hl = 0,
            // No sectors: the disk holds files, so raw transfers report an error.
            13 | 14 => regs.a = 1,
            15 => regs.a = 0xff,
            16 => regs.hl = regs.bc,
            // PUNCH, HOME, SETTRK, SETSEC, SETDMA: accepted, nothing to do.
            _ => {}
        }
        Outcome::Done
    }
}

/// Returns a byte: A = L = `v`, H = B = 0.
fn ret8(regs: &mut Regs, v: u8) {
    ret16(regs, v as u16);
}

/// Returns a word: HL = `v`, A = L, B = H.
fn ret16(regs: &mut Regs, v: u16) {
    regs.hl = v;
    regs.a = v as u8;
    regs.bc = (v & 0xff00) | (regs.bc & 0x00ff);
}

/// `N` bytes of memory from `at`, wrapping at 64 KiB as the Z80 does.
fn load<const N: usize>(mem: &Memory, at: u16) -> [u8; N] {
    core::array::from_fn(|i| mem[at.wrapping_add(i as u16) as usize])
}

/// Stores `data` at `at`, wrapping at 64 KiB.
fn store(mem: &mut Memory, at: u16, data: &[u8]) {
    for (i, &b) in data.iter().enumerate() {
        mem[at.wrapping_add(i as u16) as usize] = b;
    }
}

/// The extent an FCB names: `ex` + 32 * `s2` (bit 7 of s2 is CP/M's own flag).
fn extent_of(fcb: &[u8; FCB_LEN]) -> u16 {
    (fcb[off::EX] & 0x1f) as u16 | ((fcb[off::S2] & 0x3f) as u16) << 5
}

fn set_extent(fcb: &mut [u8; FCB_LEN], ext: u16) {
    fcb[off::EX] = (ext & 0x1f) as u8;
    fcb[off::S2] = (ext >> 5) as u8;
}

fn name_of(fcb: &[u8; FCB_LEN]) -> [u8; 11] {
    load_slice(&fcb[off::NAME..off::NAME + 11])
}

fn load_slice(s: &[u8]) -> [u8; 11] {
    core::array::from_fn(|i| s[i])
}

/// Copies a directory entry's extent, rc and allocation map into the FCB (and its
/// stored name too when `name`), as open does.
fn sync(fcb: &mut [u8; FCB_LEN], disk: &Disk, slot: usize, name: bool) {
    if let Some(e) = disk.entry(slot) {
        if name {
            fcb[off::NAME..off::NAME + 11].copy_from_slice(&e.name);
        }
        set_extent(fcb, e.extent);
        fcb[off::S1] = 0;
        fcb[off::RC] = e.rc;
        fcb[off::D0..off::D0 + 16].copy_from_slice(&alloc_bytes(&e.alloc, &disk.geometry()));
    }
}

/// Bit 7 of t1: the file is read-only.
fn read_only(name: &[u8; 11]) -> bool {
    name[8] & 0x80 != 0
}

/// Printable width of `c` echoed at column `col`.
fn width(c: u8, col: u16) -> u16 {
    match c {
        b'\t' => 8 - col % 8,
        0..0x20 => 2,
        _ => 1,
    }
}

impl State {
    /// Console output through the BDOS: tabs expand, the column is kept.
    fn conout(&mut self, io: &mut dyn ConsoleIo, c: u8) {
        if c == b'\t' {
            let n = width(c, self.column);
            io.write(&b"        "[..n as usize]);
            self.column += n;
            self.bytes += n as usize;
            return;
        }
        io.write(&[c]);
        self.bytes += 1;
        self.track(c);
    }

    fn track(&mut self, c: u8) {
        match c {
            b'\r' => self.column = 0,
            0x08 => self.column = self.column.saturating_sub(1),
            0x20..0x7f => self.column += 1,
            _ => {}
        }
    }

    fn crlf(&mut self, io: &mut dyn ConsoleIo) {
        self.conout(io, b'\r');
        self.conout(io, b'\n');
    }

    /// Echo of a character typed into a line: control characters as ^X.
    fn echo_ctl(&mut self, io: &mut dyn ConsoleIo, c: u8) {
        if c < 0x20 && c != b'\t' {
            self.conout(io, b'^');
            self.conout(io, c + 0x40);
        } else {
            self.conout(io, c);
        }
    }

    /// Prints a BDOS error and ends the program.
    fn fail(&mut self, io: &mut dyn ConsoleIo, e: Error) -> Outcome {
        let what: &[u8] = match e {
            Error::Select(d) => {
                let drive = [b'A' + (d & 0x0f)];
                self.message(io, &drive, b"Select");
                return Outcome::Error(e);
            }
            Error::ReadOnlyDisk => b"R/O",
            Error::ReadOnlyFile => b"File R/O",
            Error::UnterminatedString | Error::BadBiosEntry(_) => return Outcome::Error(e),
        };
        self.message(io, b"A", what);
        Outcome::Error(e)
    }

    fn message(&mut self, io: &mut dyn ConsoleIo, drive: &[u8], what: &[u8]) {
        self.crlf(io);
        for part in [&b"Bdos Err On "[..], drive, b": ", what] {
            io.write(part);
        }
        io.write(b"\r\n");
        self.column = 0;
    }

    /// Function 1: waits for a byte, echoes it if graphic or CR, LF, TAB, BS.
    fn console_input(&mut self, regs: &mut Regs, io: &mut dyn ConsoleIo) -> Outcome {
        let Some(c) = self.pending.take().or_else(|| io.read()) else {
            return Outcome::WaitForInput;
        };
        if c >= 0x20 || matches!(c, b'\r' | b'\n' | b'\t' | 0x08) {
            self.conout(io, c);
        }
        ret8(regs, c);
        Outcome::Done
    }

    /// Function 9: prints from `at` up to the '$'.
    fn print(&mut self, at: u16, mem: &Memory, io: &mut dyn ConsoleIo) -> Outcome {
        let start = at as usize;
        let Some(len) = mem[start..].iter().position(|&b| b == b'$') else {
            return Outcome::Error(Error::UnterminatedString);
        };
        let text = &mem[start..start + len];
        for run in text.split_inclusive(|&b| b == b'\t') {
            let (plain, tab) = match run.split_last() {
                Some((&b'\t', rest)) => (rest, true),
                _ => (run, false),
            };
            if !plain.is_empty() {
                io.write(plain);
                self.bytes += plain.len();
                plain.iter().for_each(|&c| self.track(c));
            }
            if tab {
                self.conout(io, b'\t');
            }
        }
        Outcome::Done
    }

    /// Function 10: reads an edited line into the buffer at `at` (mx, nc, text).
    fn read_line(&mut self, at: u16, mem: &mut Memory, io: &mut dyn ConsoleIo) -> Outcome {
        let mx = mem[at as usize] as usize;
        let mut line = self.line.take().unwrap_or(Line { buf: Vec::new(), start: self.column });
        loop {
            let Some(c) = self.pending.take().or_else(|| io.read()) else {
                self.line = Some(line);
                return Outcome::WaitForInput;
            };
            match c {
                b'\r' | b'\n' => break,
                // ^H, and DEL as terminals send it for backspace today (CP/M 2.2
                // echoed the deleted character for DEL instead).
                0x08 | 0x7f => {
                    if line.buf.pop().is_some() {
                        let to = line.buf.iter().fold(line.start, |col, &c| col + width(c, col));
                        while self.column > to {
                            io.write(b"\x08 \x08");
                            self.column -= 1;
                        }
                    }
                }
                // ^X: back to the start of the line, erasing it.
                0x18 => {
                    while self.column > line.start {
                        io.write(b"\x08 \x08");
                        self.column -= 1;
                    }
                    line.buf.clear();
                }
                // ^U discards the line, ^R retypes it: '#', a new line, indented.
                0x15 | 0x12 => {
                    self.conout(io, b'#');
                    self.crlf(io);
                    while self.column < line.start {
                        self.conout(io, b' ');
                    }
                    if c == 0x15 {
                        line.buf.clear();
                    } else {
                        for i in 0..line.buf.len() {
                            self.echo_ctl(io, line.buf[i]);
                        }
                    }
                }
                // ^E: physical end of line, the input goes on.
                0x05 => self.crlf(io),
                // ^C at the start of a line: warm boot.
                0x03 if line.buf.is_empty() => return Outcome::Exit,
                _ => {
                    if line.buf.len() < mx {
                        line.buf.push(c);
                        self.echo_ctl(io, c);
                    }
                    if line.buf.len() >= mx {
                        break;
                    }
                }
            }
        }
        mem[at.wrapping_add(1) as usize] = line.buf.len() as u8;
        store(mem, at.wrapping_add(2), &line.buf);
        // CP/M 2.2 returns the carriage only; programs print the line feed.
        self.conout(io, b'\r');
        Outcome::Done
    }

    /// Checks that a file may be written: the drive is not set read-only, the file
    /// (any of its entries) is not marked read-only.
    fn writable(&mut self, disk: &Disk, name: &[u8; 11], io: &mut dyn ConsoleIo) -> Result<(), Outcome> {
        if self.disk_ro {
            return Err(self.fail(io, Error::ReadOnlyDisk));
        }
        let mut from = 0;
        while let Some(slot) = disk.find_from(from, self.user, name, None) {
            if disk.entry(slot).is_some_and(|e| read_only(&e.name)) {
                return Err(self.fail(io, Error::ReadOnlyFile));
            }
            from = slot + 1;
        }
        Ok(())
    }

    /// The file functions; `disk` is locked for the call.
    fn file(&mut self, disk: &mut Disk, f: u8, regs: &mut Regs, mem: &mut Memory, io: &mut dyn ConsoleIo) -> Outcome {
        let at = regs.de;
        match f {
            27 => {
                let v = disk.alloc_vector();
                store(mem, ALV, &v);
                ret16(regs, ALV);
                return Outcome::Done;
            }
            31 => {
                crate::write_disk_tables(mem, &disk.geometry());
                ret16(regs, DPB);
                return Outcome::Done;
            }
            _ => {}
        }
        let mut fcb: [u8; FCB_LEN] = load(mem, at);
        let dr = fcb[off::DR];
        let search_all = f == 17 && dr == b'?';
        if !search_all && dr > 1 && f != 18 {
            return self.fail(io, Error::Select(dr - 1));
        }
        let name = name_of(&fcb);
        let user = self.user;
        let code = |slot: usize| (slot % 4) as u8;
        let result: u8 = match f {
            // Open: module 0 (s2 cleared), the extent in ex.
            15 => {
                fcb[off::S2] = 0;
                match disk.find(user, &name, Some(extent_of(&fcb))) {
                    Some(slot) => {
                        sync(&mut fcb, disk, slot, true);
                        store(mem, at, &fcb[..off::CR]);
                        code(slot)
                    }
                    None => 0xff,
                }
            }
            16 => disk.find(user, &name, Some(extent_of(&fcb))).map_or(0xff, code),
            17 => {
                let pattern: [u8; 15] = core::array::from_fn(|i| fcb[i]);
                self.search = Some(Search { pattern, all: search_all, next: 0 });
                self.search_next(disk, mem)
            }
            18 => self.search_next(disk, mem),
            19 => {
                if let Err(o) = self.writable(disk, &name, io) {
                    return o;
                }
                let mut last = None;
                while let Some(slot) = disk.find(user, &name, None) {
                    disk.free_slot(slot);
                    last = Some(slot);
                }
                last.map_or(0xff, code)
            }
            20 => {
                let r = self.read_seq(disk, &mut fcb, mem);
                store(mem, at, &fcb[..=off::CR]);
                r
            }
            21 => {
                if let Err(o) = self.writable(disk, &name, io) {
                    return o;
                }
                let r = self.write_seq(disk, &mut fcb, mem);
                store(mem, at, &fcb[..=off::CR]);
                r
            }
            22 => {
                if let Err(o) = self.writable(disk, &name, io) {
                    return o;
                }
                fcb[off::S2] = 0;
                let ext = extent_of(&fcb);
                if name.contains(&b'?') {
                    0xff
                } else {
                    // A name that exists is replaced from this extent on.
                    let mut from = 0;
                    while let Some(slot) = disk.find_from(from, user, &name, None) {
                        if disk.entry(slot).is_some_and(|e| e.extent >= ext) {
                            disk.free_slot(slot);
                        }
                        from = slot + 1;
                    }
                    match disk.create(user, name, ext) {
                        Ok(slot) => {
                            sync(&mut fcb, disk, slot, false);
                            store(mem, at, &fcb[..off::CR]);
                            code(slot)
                        }
                        Err(_) => 0xff,
                    }
                }
            }
            23 => {
                if let Err(o) = self.writable(disk, &name, io) {
                    return o;
                }
                let mut new = load_slice(&fcb[off::D0 + 1..off::D0 + 12]);
                new.iter_mut().for_each(|b| *b = fold(*b));
                let taken = |slot: usize| disk.entry(slot).is_some_and(|e| !crate::disk::name_matches(&name, &e.name));
                if new.contains(&b'?') || disk.find(user, &new, None).is_some_and(taken) {
                    0xff
                } else {
                    let mut last = None;
                    let mut from = 0;
                    while let Some(slot) = disk.find_from(from, user, &name, None) {
                        if let Some(e) = disk.entry_mut(slot) {
                            for (b, n) in e.name.iter_mut().zip(new) {
                                *b = (*b & 0x80) | n;
                            }
                        }
                        last = Some(slot);
                        from = slot + 1;
                    }
                    last.map_or(0xff, code)
                }
            }
            // Set file attributes: bit 7 of each name byte, on every extent.
            30 => {
                let mut last = None;
                let mut from = 0;
                while let Some(slot) = disk.find_from(from, user, &name, None) {
                    if let Some(e) = disk.entry_mut(slot) {
                        for (b, n) in e.name.iter_mut().zip(name) {
                            *b = (*b & 0x7f) | (n & 0x80);
                        }
                    }
                    last = Some(slot);
                    from = slot + 1;
                }
                last.map_or(0xff, code)
            }
            33 => {
                let r = self.read_random(disk, &mut fcb, mem);
                store(mem, at, &fcb[..=off::CR]);
                r
            }
            // 40 (write random with zero fill) is 34: new blocks are always zeroed.
            34 | 40 => {
                if let Err(o) = self.writable(disk, &name, io) {
                    return o;
                }
                let r = self.write_random(disk, &mut fcb, mem);
                store(mem, at, &fcb[..=off::CR]);
                r
            }
            35 => {
                let size = disk.file_size(user, &name);
                let n = size.unwrap_or(0);
                store(mem, at.wrapping_add(off::R0 as u16), &[n as u8, (n >> 8) as u8, (n >> 16) as u8]);
                if size.is_some() {
                    0
                } else {
                    0xff
                }
            }
            _ => {
                // 36: set random record from ex, s2 and cr.
                let n = extent_of(&fcb) as u32 * EXTENT_RECORDS as u32 + fcb[off::CR] as u32;
                store(mem, at.wrapping_add(off::R0 as u16), &[n as u8, (n >> 8) as u8, (n >> 16) as u8]);
                0
            }
        };
        ret8(regs, result);
        Outcome::Done
    }

    fn search_next(&mut self, disk: &Disk, mem: &mut Memory) -> u8 {
        let Some(mut s) = self.search else { return 0xff };
        let p = &s.pattern;
        let pname = load_slice(&p[1..12]);
        let found = (s.next..disk.slots()).find(|&slot| {
            if s.all {
                return true;
            }
            disk.entry(slot).is_some_and(|e| {
                e.user == self.user
                    && crate::disk::name_matches(&pname, &e.name)
                    && (p[12] == b'?' || (e.extent & 0x1f) as u8 == p[12] & 0x1f)
                    && (p[14] == b'?' || (e.extent >> 5) as u8 == p[14] & 0x3f)
            })
        });
        let Some(slot) = found else {
            s.next = disk.slots();
            self.search = Some(s);
            return 0xff;
        };
        s.next = slot + 1;
        self.search = Some(s);
        let first = slot / 4 * 4;
        for i in 0..4 {
            store(mem, self.dma.wrapping_add(32 * i as u16), &disk.slot_bytes(first + i));
        }
        self.bytes += RECORD;
        (slot % 4) as u8
    }

    fn read_seq(&mut self, disk: &Disk, fcb: &mut [u8; FCB_LEN], mem: &mut Memory) -> u8 {
        let name = name_of(fcb);
        let ext = extent_of(fcb);
        let mut cr = fcb[off::CR] as usize;
        let Some(mut slot) = disk.find(self.user, &name, Some(ext)) else { return 1 };
        if cr >= disk.entry(slot).map_or(0, |e| e.rc as usize) {
            // Past this extent's records: at record 128 go on to the next extent.
            if cr != EXTENT_RECORDS {
                return 1;
            }
            let Some(next) = disk.find(self.user, &name, Some(ext + 1)) else { return 1 };
            slot = next;
            cr = 0;
            sync(fcb, disk, slot, false);
            fcb[off::CR] = 0;
        }
        let result = match disk.read_in(slot, cr) {
            Some(data) => {
                store(mem, self.dma, data);
                self.bytes += RECORD;
                fcb[off::CR] = cr as u8 + 1;
                0
            }
            None => 1,
        };
        result
    }

    fn write_seq(&mut self, disk: &mut Disk, fcb: &mut [u8; FCB_LEN], mem: &mut Memory) -> u8 {
        let mut ext = extent_of(fcb);
        let mut cr = fcb[off::CR] as usize;
        if cr > EXTENT_RECORDS {
            return 1;
        }
        if cr == EXTENT_RECORDS {
            ext += 1;
            cr = 0;
        }
        if ext >= MAX_EXTENTS {
            return 2;
        }
        let slot = match self.extent_for_write(disk, fcb, ext) {
            Ok(slot) => slot,
            Err(_) => return 1,
        };
        let data: [u8; RECORD] = load(mem, self.dma);
        let result = match disk.write_in(slot, cr, &data) {
            Ok(()) => {
                self.bytes += RECORD;
                cr += 1;
                0
            }
            Err(_) => 2,
        };
        sync(fcb, disk, slot, false);
        fcb[off::CR] = cr as u8;
        result
    }

    /// The slot of extent `ext` of the FCB's file, made if the file has other extents.
    fn extent_for_write(&self, disk: &mut Disk, fcb: &[u8; FCB_LEN], ext: u16) -> Result<usize, DiskError> {
        let name = name_of(fcb);
        if let Some(slot) = disk.find(self.user, &name, Some(ext)) {
            return Ok(slot);
        }
        let any = disk.find(self.user, &name, None).ok_or(DiskError::DirectoryFull)?;
        let stored = disk.entry(any).map(|e| e.name).ok_or(DiskError::DirectoryFull)?;
        disk.create(self.user, stored, ext)
    }

    /// The random record of an FCB as (extent, record), or the error code 6 when it
    /// lies past CP/M 2.2's 8 MiB.
    fn seek(fcb: &[u8; FCB_LEN]) -> Result<(u16, usize), u8> {
        if fcb[off::R0 + 2] != 0 {
            return Err(6);
        }
        let r = u16::from_le_bytes([fcb[off::R0], fcb[off::R0 + 1]]) as usize;
        Ok(((r / EXTENT_RECORDS) as u16, r % EXTENT_RECORDS))
    }

    fn read_random(&mut self, disk: &Disk, fcb: &mut [u8; FCB_LEN], mem: &mut Memory) -> u8 {
        let (ext, cr) = match Self::seek(fcb) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let Some(slot) = disk.find(self.user, &name_of(fcb), Some(ext)) else { return 4 };
        sync(fcb, disk, slot, false);
        // The next sequential read reads this record again (Interface Guide, F33).
        fcb[off::CR] = cr as u8;
        let result = match disk.read_in(slot, cr) {
            Some(data) => {
                store(mem, self.dma, data);
                self.bytes += RECORD;
                0
            }
            None => 1,
        };
        result
    }

    fn write_random(&mut self, disk: &mut Disk, fcb: &mut [u8; FCB_LEN], mem: &mut Memory) -> u8 {
        let (ext, cr) = match Self::seek(fcb) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let slot = match self.extent_for_write(disk, fcb, ext) {
            Ok(slot) => slot,
            Err(_) => return 5,
        };
        let data: [u8; RECORD] = load(mem, self.dma);
        let result = match disk.write_in(slot, cr, &data) {
            Ok(()) => {
                self.bytes += RECORD;
                0
            }
            Err(_) => 2,
        };
        sync(fcb, disk, slot, false);
        fcb[off::CR] = cr as u8;
        result
    }
}
