//! The executable loader: good files load and relocate; every malformed header,
//! size and relocation entry is refused with its reason, before memory is written.

use zbeam_symbos::exe::{self, off, Area, LoadError};
use zbeam_symbos::link;

fn exe(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{name}.exe", env!("OUT_DIR"))).expect("built by build.rs")
}

fn set16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn get16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn load(file: &[u8]) -> Result<exe::Layout, LoadError> {
    let mut mem = Box::new([0u8; 0x1_0000]);
    let r = exe::load(file, &mut mem, 2, 16);
    if r.is_err() {
        assert!(mem.iter().all(|&b| b == 0), "a refused file wrote memory");
    }
    r
}

/// A minimal program built here: header, a code word pointing at the data area, one
/// data byte, a transfer area with the start frame; relocation table of two entries
/// (the code's pointer and the frame's start address).
fn tiny() -> Vec<u8> {
    let origin = 0x2000u16;
    let mut f = vec![0u8; 256];
    f[off::MAGIC..off::MAGIC + 8].copy_from_slice(b"SymExe10");
    f[off::NAME..off::NAME + 4].copy_from_slice(b"tiny");
    // code: 0x2100 C9 (RET), 0x2101 dw data
    f.extend_from_slice(&[0xc9, 0x00, 0x00]);
    let code_len = f.len() as u16;
    let data_at = origin + code_len;
    set16(&mut f, 257, data_at);
    f.push(0x42); // data
    let trans_at = data_at + 1;
    // transfer: frame of 12 register bytes, start address, id
    let mut t = vec![0u8; 15];
    t[12..14].copy_from_slice(&(origin + 256).to_le_bytes());
    f.extend_from_slice(&t);
    set16(&mut f, off::CODE_LEN, code_len);
    set16(&mut f, off::DATA_LEN, 1);
    set16(&mut f, off::TRANSFER_LEN, 15);
    set16(&mut f, off::ORIGIN, origin);
    set16(&mut f, off::RELOC, 2);
    set16(&mut f, off::STACK, 0);
    f.extend_from_slice(&(origin + 257).to_le_bytes());
    f.extend_from_slice(&(trans_at + 12).to_le_bytes());
    f
}

#[test]
fn a_good_file_loads_and_relocates_each_area_by_its_own_move() {
    let f = tiny();
    let mut mem = Box::new([0u8; 0x1_0000]);
    let l = exe::load(&f, &mut mem, 2, 16).expect("loads");
    assert_eq!(l.addr[0], 0x0400);
    assert_eq!(l.relocations, 2);
    // The data area keeps its low byte (0x03) and follows code + command line.
    assert_eq!(l.addr[1] & 0xff, 0x03);
    assert!(l.addr[1] as usize >= 0x0400 + 259 + 256);
    assert!(l.addr[2] >= 0xc000 && l.addr[2] & 0xff == 0x04);
    // The code's pointer now names the data area; the frame names the code start.
    assert_eq!(get16(&mem[..], 0x0501), l.addr[1]);
    assert_eq!(mem[l.addr[1] as usize], 0x42);
    assert_eq!(l.start, 0x0400 + 256);
    assert_eq!(get16(&mem[..], l.stack as usize + 12), l.start);
    // The header as the system manager fills it in.
    let h = &mem[0x0400..0x0500];
    assert_eq!(get16(h, 0), 259 + 256);
    assert_eq!((get16(h, 2), get16(h, 4)), (1, 15));
    assert_eq!((get16(h, 6), get16(h, 8)), (l.addr[1], l.addr[2]));
    assert_eq!((h[14], h[88], h[89]), (exe::BANK, 2, 16));
    assert_eq!(mem[l.stack as usize + 14], 16);
    assert_eq!(l.header.name, "tiny");
}

#[test]
fn a_packed_table_loads_like_a_plain_one() {
    let plain = tiny();
    let mut f = plain[..plain.len() - 4].to_vec();
    let (a, b) = (get16(&plain, plain.len() - 4), get16(&plain, plain.len() - 2));
    assert_eq!(b - a, 15, "the second entry is one nibble (14) after the first");
    // Low nibble 0: the word a; high nibble 14: a + 15; then nibble 0 and word 0 ends it.
    f.push(0xe0);
    f.extend_from_slice(&a.to_le_bytes());
    f.extend_from_slice(&[0, 0, 0]);
    f[off::FLAGS] |= exe::FLAG_PACKED;
    set16(&mut f, off::RELOC, 3);
    let mut m1 = Box::new([0u8; 0x1_0000]);
    let mut m2 = Box::new([0u8; 0x1_0000]);
    exe::load(&plain, &mut m1, 2, 16).unwrap();
    exe::load(&f, &mut m2, 2, 16).unwrap();
    assert_eq!(m1[0x0400 + 41..], m2[0x0400 + 41..]);
    // A packed stream that starts with a difference has no first address.
    let mut bad = f.clone();
    let end = bad.len() - 6;
    bad[end] = 0xe3;
    assert_eq!(load(&bad), Err(LoadError::BadPackedTable));
    // One without the end word runs off its end.
    let mut open = f.clone();
    let n = open.len();
    open[n - 3..].fill(0xff);
    assert!(load(&open).is_err());
}

#[test]
fn the_built_programs_load() {
    for name in ["hello", "input", "files", "kernel", "crash", "echo"] {
        let f = exe(name);
        let l = load(&f).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(l.relocations > 0, "{name}");
        assert!(exe::is_symbos(&f));
    }
}

#[test]
fn every_malformed_header_is_refused_with_its_reason() {
    let good = tiny();
    type Change = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Change, LoadError)> = vec![
        ("short", Box::new(|f| f.truncate(200)), LoadError::TooShort(200)),
        ("magic", Box::new(|f| f[off::MAGIC] = b'X'), LoadError::BadMagic),
        ("SymExe11", Box::new(|f| f[off::MAGIC + 7] = b'1'), LoadError::Compressed),
        ("compressed flag", Box::new(|f| f[off::FLAGS] = 0x80), LoadError::Compressed),
        ("name", Box::new(|f| f[off::NAME..off::NAME + 25].fill(b'x')), LoadError::NameNotTerminated),
        ("empty data", Box::new(|f| set16(f, off::DATA_LEN, 0)), LoadError::EmptyArea(Area::Data)),
        ("empty transfer", Box::new(|f| set16(f, off::TRANSFER_LEN, 0)), LoadError::EmptyArea(Area::Transfer)),
        ("code < header", Box::new(|f| set16(f, off::CODE_LEN, 100)), LoadError::CodeTooShort(100)),
        (
            "truncated",
            Box::new(|f| {
                f.pop();
            }),
            LoadError::Truncated { need: 279, have: 278 },
        ),
        (
            "table longer than file",
            Box::new(|f| set16(f, off::RELOC, 9)),
            LoadError::Truncated { need: 293, have: 279 },
        ),
        ("stack", Box::new(|f| set16(f, off::STACK, 1)), LoadError::StackOutside { offset: 1, transfer: 15 }),
        ("origin", Box::new(|f| set16(f, off::ORIGIN, 0xff80)), LoadError::OriginOverflow { origin: 0xff80, len: 275 }),
        ("too big", Box::new(|f| set16(f, off::CODE_EXTRA, 0xfe00)), LoadError::DoesNotFit(Area::Code)),
        (
            "transfer too big",
            Box::new(|f| set16(f, off::TRANSFER_EXTRA, 0x3f00)),
            LoadError::DoesNotFit(Area::Transfer),
        ),
        (
            "entry outside",
            Box::new(|f| {
                let n = f.len();
                set16(f, n - 2, 0x1000)
            }),
            LoadError::RelocOutside { index: 1, at: 0x1000 },
        ),
        (
            "entry across areas",
            Box::new(|f| {
                let n = f.len();
                set16(f, n - 2, 0x2000 + 258)
            }),
            LoadError::RelocOutside { index: 1, at: 0x2102 },
        ),
        (
            "entries overlap",
            Box::new(|f| {
                let n = f.len();
                set16(f, n - 2, 0x2000 + 256)
            }),
            LoadError::RelocOverlap { index: 1, at: 0x2100 },
        ),
        (
            "duplicate",
            Box::new(|f| {
                let n = f.len();
                let first = get16(f, n - 4);
                set16(f, n - 2, first)
            }),
            LoadError::RelocOverlap { index: 1, at: 0x2101 },
        ),
        (
            "target outside",
            Box::new(|f| set16(f, 257, 0x9000)),
            LoadError::RelocTarget { index: 0, at: 0x2101, value: 0x9000 },
        ),
        ("start outside", Box::new(|f| set16(f, 260 + 12, 0x2103)), LoadError::StartOutside(0x0603)),
    ];
    for (what, change, want) in cases {
        let mut f = good.clone();
        change(&mut f);
        let got = load(&f);
        assert_eq!(got.as_ref().err(), Some(&want), "{what}: {got:?}");
        assert!(!want.to_string().is_empty());
    }
}

#[test]
fn link_takes_the_table_from_two_origins() {
    let hello = exe("hello");
    let n = get16(&hello, off::RELOC) as usize;
    let areas: usize = (0..3).map(|i| get16(&hello, 2 * i) as usize).sum();
    assert_eq!(hello.len(), areas + 2 * n);
    assert_eq!(get16(&hello, off::ORIGIN), 0x1000);
    // Build one by hand: a word that moves with the origin and one that does not.
    let mut low = tiny()[..275].to_vec();
    let mut high = low.clone();
    set16(&mut low, 256, 0x2345);
    set16(&mut high, 256, 0x2445);
    let out = link::link(&low, &high, 0x2000).unwrap();
    assert_eq!(get16(&out, off::RELOC), 1);
    assert_eq!(get16(&out, 275), 0x2100);
    // A byte that differs by something else is not an address.
    high[256] = 0x99;
    assert!(link::link(&low, &high, 0x2000).unwrap_err().contains("not the high byte"));
    assert!(link::link(&low, &high[..200], 0x2000).is_err());
}
