//! Each BDOS function called directly, as the engine calls it, with the FCB fields
//! and return codes of the CP/M 2.2 Interface Guide checked one by one.

use std::collections::VecDeque;
use zbeam_cpm::{Bdos, ConsoleIo, Disk, Error, Geometry, Memory, Outcome, Regs, BIOS_TRAPS, DPB};

#[derive(Default)]
struct Con {
    out: Vec<u8>,
    input: VecDeque<u8>,
}

impl ConsoleIo for Con {
    fn write(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
    fn read(&mut self) -> Option<u8> {
        self.input.pop_front()
    }
}

struct T {
    bdos: Bdos,
    mem: Box<Memory>,
    con: Con,
}

const FCB: u16 = 0x5c;
const DMA: usize = 0x80;

impl T {
    fn new(bdos: Bdos) -> T {
        let mut mem: Box<Memory> = Box::new([0; 0x1_0000]);
        zbeam_cpm::setup(&mut mem, b"");
        T { bdos, mem, con: Con::default() }
    }

    /// Calls function `f` with DE = `de`; returns (outcome, A, HL).
    fn call(&mut self, f: u8, de: u16) -> (Outcome, u8, u16) {
        let mut r = Regs { a: 0x55, bc: f as u16, de, hl: 0x5555 };
        let o = self.bdos.call(f, &mut r, &mut self.mem, &mut self.con);
        (o, r.a, r.hl)
    }

    /// Function `f` on the FCB at 0x5C; returns A.
    fn f(&mut self, f: u8) -> u8 {
        let (o, a, _) = self.call(f, FCB);
        assert_eq!(o, Outcome::Done);
        a
    }

    /// Sets the FCB at 0x5C to `name` (`NAME    TYP` form), everything else zero.
    fn fcb(&mut self, name: &[u8; 11]) {
        let at = FCB as usize;
        self.mem[at..at + 36].fill(0);
        self.mem[at + 1..at + 12].copy_from_slice(name);
    }

    fn field(&self, off: usize) -> u8 {
        self.mem[FCB as usize + off]
    }

    fn set(&mut self, off: usize, v: u8) {
        self.mem[FCB as usize + off] = v;
    }

    fn random(&mut self, r: u32) {
        let at = FCB as usize + 33;
        self.mem[at..at + 3].copy_from_slice(&r.to_le_bytes()[..3]);
    }

    fn out(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.con.out)).into_owned()
    }
}

#[test]
fn console_output_expands_tabs_and_prints_to_dollar() {
    let mut t = T::new(Bdos::new());
    t.mem[0x200..0x209].copy_from_slice(b"ab\tc\td$xy");
    assert_eq!(t.call(9, 0x200).0, Outcome::Done);
    assert_eq!(t.out(), "ab      c       d");
    for c in b"\r1\t" {
        t.call(2, *c as u16);
    }
    assert_eq!(t.out(), "\r1       ");
    // Direct output does not expand tabs.
    t.call(6, b'\t' as u16);
    assert_eq!(t.out(), "\t");
    // No '$' up to the end of memory.
    t.mem[0xff00..].fill(b'x');
    assert_eq!(t.call(9, 0xff00).0, Outcome::Error(Error::UnterminatedString));
}

#[test]
fn console_input_status_and_direct_io() {
    let mut t = T::new(Bdos::new());
    assert_eq!(t.call(11, 0).1, 0);
    assert_eq!(t.call(6, 0xff).1, 0, "direct input with nothing typed returns 0");
    assert_eq!(t.call(1, 0).0, Outcome::WaitForInput);
    t.con.input.extend(b"ab\x01");
    assert_eq!(t.call(11, 0).1, 0xff);
    // Function 1 returns and echoes the byte the status call saw.
    assert_eq!(t.call(1, 0), (Outcome::Done, b'a', b'a' as u16));
    assert_eq!(t.call(6, 0xff).1, b'b');
    // A control character is returned but not echoed.
    assert_eq!(t.call(1, 0).1, 1);
    assert_eq!(t.out(), "a");
    assert_eq!(t.call(12, 0), (Outcome::Done, 0x22, 0x0022));
    assert_eq!(t.call(0, 0).0, Outcome::Exit);
}

#[test]
fn read_console_buffer_edits_and_fills() {
    let mut t = T::new(Bdos::new());
    t.mem[0x300] = 5;
    // ^R retypes, ^E breaks the line, control characters echo as ^X, a full buffer ends.
    t.con.input.extend(b"ab\x12c\x05\x07de");
    assert_eq!(t.call(10, 0x300).0, Outcome::Done);
    assert_eq!(&t.mem[0x301..0x307], b"\x05abc\x07d");
    assert_eq!(t.out(), "ab#\r\nabc\r\n^Gd\r");
    assert_eq!(t.con.input, b"e", "input after the full buffer stays");
    t.con.input.clear();
    // ^C later in a line is a character; at the start it is a warm boot.
    t.con.input.extend(b"x\x03\r");
    t.call(10, 0x300);
    assert_eq!(&t.mem[0x301..0x304], b"\x02x\x03");
    t.con.input.extend(b"\x03");
    assert_eq!(t.call(10, 0x300).0, Outcome::Exit);
}

#[test]
fn drive_user_dma_and_vectors() {
    let mut t = T::new(Bdos::new());
    assert_eq!(t.call(25, 0).1, 0);
    assert_eq!(t.call(24, 0).2, 1);
    assert_eq!(t.call(14, 0).0, Outcome::Done);
    assert_eq!(t.call(14, 1).0, Outcome::Error(Error::Select(1)));
    assert_eq!(t.out(), "\r\nBdos Err On B: Select\r\n");
    t.call(32, 5);
    assert_eq!(t.call(32, 0xff).1, 5);
    assert_eq!(t.call(31, 0).2, DPB);
    assert_eq!(t.mem[DPB as usize + 7], 63, "DRM of the standard disk");
    let (_, _, alv) = t.call(27, 0);
    assert_eq!(t.mem[alv as usize], 0xc0, "the two directory blocks are in use");
    t.call(28, 0);
    assert_eq!(t.call(29, 0).2, 1);
    t.call(37, 1);
    assert_eq!(t.call(29, 0).2, 0);
    t.call(26, 0x1234);
    t.call(13, 0);
    t.fcb(b"X          ");
    t.f(22);
    t.mem[DMA..DMA + 128].fill(7);
    assert_eq!(t.f(21), 0, "reset put the DMA back at 0080h");
}

#[test]
fn sequential_io_across_extents_and_past_the_end() {
    let mut t = T::new(Bdos::new());
    t.fcb(b"BIG     DAT");
    assert_eq!(t.f(15), 0xff, "open of a missing file");
    assert!(t.f(22) < 4);
    // 300 records: extent 0 and 1 full (128 each), extent 2 holds 44.
    for r in 0..300u32 {
        t.mem[DMA..DMA + 128].fill(r as u8);
        assert_eq!(t.f(21), 0, "write {r}");
        if r == 127 {
            assert_eq!((t.field(12), t.field(15), t.field(32)), (0, 128, 128), "cr 128 until the next write");
        }
    }
    assert_eq!((t.field(12), t.field(14), t.field(15), t.field(32)), (2, 0, 44, 44));
    assert!(t.f(16) < 4);
    t.fcb(b"BIG     DAT");
    assert!(t.f(15) < 4);
    assert_eq!(t.field(15), 128, "open copies extent 0's rc");
    for r in 0..300u32 {
        assert_eq!(t.f(20), 0, "read {r}");
        assert!(t.mem[DMA..DMA + 128].iter().all(|&b| b == r as u8));
    }
    assert_eq!(t.f(20), 1, "reading past the end returns 1");
    assert_eq!(t.f(20), 1);
    assert_eq!(t.f(35), 0);
    assert_eq!(&t.mem[FCB as usize + 33..FCB as usize + 36], &[44, 1, 0], "300 records");
    t.f(36);
    assert_eq!(&t.mem[FCB as usize + 33..FCB as usize + 36], &[44, 1, 0], "next record 300");
    // Opening extent 1 directly.
    t.fcb(b"BIG     DAT");
    t.set(12, 1);
    assert!(t.f(15) < 4);
    assert_eq!(t.f(20), 0);
    assert_eq!(t.mem[DMA], 128);
    t.set(12, 3);
    assert_eq!(t.f(15), 0xff, "extent 3 does not exist");
}

#[test]
fn random_io_round_trip_and_error_codes() {
    let mut t = T::new(Bdos::new());
    t.fcb(b"R       DAT");
    t.f(22);
    for r in [0u32, 200, 65_535] {
        t.random(r);
        t.mem[DMA..DMA + 128].fill((r % 251) as u8);
        assert_eq!(t.f(34), 0);
        assert_eq!(t.field(32), (r % 128) as u8);
    }
    t.random(65_536);
    assert_eq!(t.f(34), 6, "past 8 MiB");
    assert_eq!(t.f(33), 6);
    for r in [65_535u32, 0, 200] {
        t.random(r);
        assert_eq!(t.f(33), 0);
        assert!(t.mem[DMA..DMA + 128].iter().all(|&b| b == (r % 251) as u8));
        assert_eq!((t.field(12) as u32 + 32 * t.field(14) as u32) * 128 + t.field(32) as u32, r);
    }
    t.random(100);
    assert_eq!(t.f(33), 1, "record 100 lies past extent 0's one record");
    t.random(300);
    assert_eq!(t.f(33), 4, "extent 2 was never written");
}

#[test]
fn search_with_wildcards_returns_directory_codes() {
    let mut d = Disk::new();
    for n in ["A.COM", "B.TXT", "C.COM", "D.COM", "E.COM"] {
        d.put(n, b"x").unwrap();
    }
    let mut t = T::new(Bdos::with_disk(d));
    t.fcb(b"????????COM");
    let mut found = Vec::new();
    let mut a = t.f(17);
    while a != 0xff {
        let at = DMA + 32 * a as usize;
        found.push((a, String::from_utf8_lossy(&t.mem[at + 1..at + 12]).into_owned()));
        a = t.f(18);
    }
    assert_eq!(
        found,
        [(0, "A       COM".into()), (2, "C       COM".into()), (3, "D       COM".into()), (0, "E       COM".into())]
    );
    // E.COM's record (slots 4..7) came with it: the rest are empty entries.
    assert_eq!(&t.mem[DMA + 32..DMA + 128], &[0xe5; 96]);
    assert_eq!(t.f(18), 0xff);
    // dr = '?' matches every slot, the empty ones too.
    t.fcb(b"???????????");
    t.set(0, b'?');
    let mut codes = vec![t.f(17)];
    loop {
        match t.f(18) {
            0xff => break,
            a => codes.push(a),
        }
    }
    assert_eq!(codes.len(), 64, "every slot of the standard directory");
    assert_eq!(&codes[..8], &[0, 1, 2, 3, 0, 1, 2, 3]);
}

#[test]
fn rename_delete_and_attributes() {
    let mut d = Disk::new();
    for n in ["A.TXT", "B.TXT", "C.DAT"] {
        d.put(n, b"x").unwrap();
    }
    let disk = d.into_shared();
    let mut t = T::new(Bdos::with_shared(disk.clone()));
    t.fcb(b"A       TXT");
    t.mem[FCB as usize + 17..FCB as usize + 28].copy_from_slice(b"B       TXT");
    assert_eq!(t.f(23), 0xff, "the new name exists");
    t.mem[FCB as usize + 17..FCB as usize + 28].copy_from_slice(b"new     txt");
    assert!(t.f(23) < 4);
    assert_eq!(disk.lock().names(), ["NEW.TXT", "B.TXT", "C.DAT"]);
    // Read-only: set t1', then writing or deleting is a BDOS error.
    t.fcb(b"C       DAT");
    t.set(9, b'D' | 0x80);
    assert!(t.f(30) < 4);
    t.fcb(b"C       DAT");
    t.f(15);
    assert_eq!(t.call(21, FCB).0, Outcome::Error(Error::ReadOnlyFile));
    assert_eq!(t.out(), "\r\nBdos Err On A: File R/O\r\n");
    assert_eq!(t.call(19, FCB).0, Outcome::Error(Error::ReadOnlyFile));
    t.fcb(b"????????TXT");
    assert!(t.f(19) < 4);
    assert_eq!(t.f(19), 0xff, "nothing left to delete");
    assert_eq!(disk.lock().names(), ["C.DAT"]);
    t.call(28, 0);
    t.fcb(b"Z          ");
    assert_eq!(t.call(22, FCB).0, Outcome::Error(Error::ReadOnlyDisk));
}

#[test]
fn full_directory_and_full_disk() {
    // 16 blocks of 1 KiB, one for the 8-entry directory: 15 KiB of data.
    let mut t = T::new(Bdos::with_disk(Disk::with_geometry(Geometry::new(16, 8).unwrap())));
    for i in 0..8u8 {
        t.fcb(&[b'F', b'0' + i, b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ']);
        assert_eq!(t.f(22), i % 4);
    }
    t.fcb(b"MORE       ");
    assert_eq!(t.f(22), 0xff, "directory full");
    t.fcb(b"F0         ");
    t.f(15);
    for r in 0..120 {
        assert_eq!(t.f(21), 0, "record {r}");
    }
    assert_eq!(t.f(21), 2, "disk full after 15 KiB");
    t.fcb(b"F0         ");
    t.random(200);
    assert_eq!(t.f(34), 5, "a new extent needs a directory entry");
}

#[test]
fn bios_entry_points() {
    let mut t = T::new(Bdos::new());
    fn bios(t: &mut T, n: u16, c: u8) -> (Outcome, u8, u16) {
        let mut r = Regs { a: 0, bc: c as u16, de: 0, hl: 0 };
        let o = t.bdos.bios(BIOS_TRAPS + n, &mut r, &mut t.mem, &mut t.con);
        (o, r.a, r.hl)
    }
    assert_eq!(bios(&mut t, 2, 0).1, 0);
    assert_eq!(bios(&mut t, 3, 0).0, Outcome::WaitForInput);
    t.con.input.push_back(b'k');
    assert_eq!(bios(&mut t, 2, 0).1, 0xff);
    assert_eq!(bios(&mut t, 3, 0).1, b'k');
    bios(&mut t, 4, b'\t');
    assert_eq!(t.out(), "\t", "CONOUT is raw");
    assert_eq!(bios(&mut t, 9, 0).2, zbeam_cpm::DPH);
    assert_eq!(bios(&mut t, 9, 1).2, 0, "only drive A:");
    assert_eq!(bios(&mut t, 13, 0).1, 1, "no sectors to read");
    assert_eq!(bios(&mut t, 16, 7).2, 7);
    assert_eq!(bios(&mut t, 1, 0).0, Outcome::Exit);
    assert_eq!(bios(&mut t, 17, 0).0, Outcome::Error(Error::BadBiosEntry(BIOS_TRAPS + 17)));
    // The jump table at BIOS leads to the trapped entries: WBOOT is what 0x0001 names.
    let wboot = u16::from_le_bytes([t.mem[1], t.mem[2]]);
    assert_eq!(u16::from_le_bytes([t.mem[wboot as usize + 1], t.mem[wboot as usize + 2]]), BIOS_TRAPS + 1);
}

/// Raw sector writes (`Disk::write_image`, SymbOS's STOTRN) and the BDOS on one
/// shared disk: a data sector patched raw reads back patched through the BDOS, a file
/// made by raw directory and data writes is found, opened and read, and the BDOS
/// allocates around the blocks it holds.
#[test]
fn raw_image_writes_and_the_bdos_agree() {
    let disk = Disk::new().into_shared();
    let mut t = T::new(Bdos::with_shared(disk.clone()));
    // Make, write `records` records (record r filled with r), close.
    let write_file = |t: &mut T, name: &[u8; 11], records: u8| {
        t.fcb(name);
        assert!(t.f(22) < 4);
        for r in 0..records {
            t.mem[DMA..DMA + 128].fill(r);
            assert_eq!(t.f(21), 0);
        }
        assert!(t.f(16) < 4);
    };
    write_file(&mut t, b"BDOS    DAT", 16);
    // Slot 0 holds BDOS.DAT in blocks 2 and 3; patch the second half of block 2.
    let mut dir = [0u8; 32];
    disk.lock().read_image(0, &mut dir);
    assert_eq!((&dir[1..12], dir[15], dir[16], dir[17]), (&b"BDOS    DAT"[..], 16, 2, 3));
    disk.lock().write_image(2 * 1024 + 512, &[0xaa; 512]).unwrap();
    // Slot 1: RAW.DAT, 8 records in block 10, written raw.
    let mut entry = [0u8; 32];
    entry[1..12].copy_from_slice(b"RAW     DAT");
    (entry[15], entry[16]) = (8, 10);
    disk.lock().write_image(32, &entry).unwrap();
    let data: Vec<u8> = (0..1024).map(|i| (i / 128) as u8 + 0x40).collect();
    disk.lock().write_image(10 * 1024, &data).unwrap();

    t.fcb(b"BDOS    DAT");
    assert!(t.f(15) < 4);
    for r in 0..16u8 {
        assert_eq!(t.f(20), 0, "read {r}");
        let want = if (4..8).contains(&r) { 0xaa } else { r };
        assert!(t.mem[DMA..DMA + 128].iter().all(|&b| b == want), "record {r}");
    }
    t.fcb(b"RAW     DAT");
    assert_eq!(t.f(17), 1, "search finds the raw entry in slot 1");
    assert!(t.f(15) < 4);
    for r in 0..8u8 {
        assert_eq!(t.f(20), 0);
        assert!(t.mem[DMA..DMA + 128].iter().all(|&b| b == 0x40 + r), "raw record {r}");
    }
    assert_eq!(t.f(20), 1, "end of the raw file");
    // A new file through the BDOS takes the first blocks no entry holds (4 on), never
    // block 10; the free count follows the directory.
    write_file(&mut t, b"NEW     DAT", 64);
    let mut new = [0u8; 32];
    disk.lock().read_image(64, &mut new);
    assert_eq!(&new[16..24], &[4, 5, 6, 7, 8, 9, 11, 12]);
    assert_eq!(disk.lock().free_blocks(), 241 - 2 - 1 - 8);
    assert_eq!(&disk.lock().get("RAW.DAT").unwrap(), &data);
}
