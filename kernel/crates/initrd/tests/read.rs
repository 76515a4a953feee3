//! Archives built here byte by byte (POSIX ustar, written independently of the reader)
//! and, where `tar` is installed, by GNU tar: good programs load with their bytes,
//! every rule of the crate documentation rejects what it should, and a corrupt archive
//! is refused as a whole.

use zbeam_initrd::{read, ArchiveError, CorruptDataError, Limits, Program, Reject, Verdict};

const LIMITS: Limits = Limits { max_bytes: 1000, max_images: 3 };

mod common;
use common::member;

fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        out.extend(member(name.as_bytes(), data, b'0'));
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn none_taken(_: &str) -> bool {
    false
}

fn loaded<'a>(v: &[Verdict<'a>]) -> Vec<Program<'a>> {
    v.iter()
        .filter_map(|v| match v {
            Verdict::Loaded(p) => Some(p.clone()),
            Verdict::Rejected { .. } => None,
        })
        .collect()
}

fn rejected(v: &[Verdict<'_>]) -> Vec<(String, Reject)> {
    v.iter()
        .filter_map(|v| match v {
            Verdict::Rejected { file, why } => Some((file.clone(), *why)),
            Verdict::Loaded(_) => None,
        })
        .collect()
}

#[test]
fn programs_load_with_their_bytes_in_archive_order() {
    let tar = archive(&[("hello.com", b"\x3e\x01\xc9"), ("./Other-1.BIN", &[7u8; 513])]);
    let v = read(&tar, LIMITS, none_taken).unwrap();
    let p = loaded(&v);
    assert_eq!(p.len(), 2);
    assert_eq!(p[0], Program { name: "hello".into(), bytes: b"\x3e\x01\xc9" });
    assert_eq!(p[1].name, "other-1", "./ dropped, lower-cased");
    assert_eq!(p[1].bytes, &[7u8; 513][..]);
    // The bytes borrow from the archive itself.
    let range = tar.as_ptr_range();
    assert!(range.contains(&p[1].bytes.as_ptr()));
    assert!(rejected(&v).is_empty());
}

#[test]
fn directories_are_skipped() {
    let mut tar = member(b"./", b"", b'5');
    tar.extend(member(b"./a.com", b"\xc9", b'0'));
    tar.extend_from_slice(&[0u8; 1024]);
    let v = read(&tar, LIMITS, none_taken).unwrap();
    assert_eq!(v, [Verdict::Loaded(Program { name: "a".into(), bytes: b"\xc9" })]);
}

#[test]
fn every_rule_rejects_with_its_reason() {
    let big = vec![0u8; 1001];
    let tar = archive(&[
        ("notes.txt", b"hi"),
        ("noext", b"\xc9"),
        ("dir/x.com", b"\xc9"),
        ("-dash.com", b"\xc9"),
        ("sp ace.com", b"\xc9"),
        ("seventeen-chars-x.com", b"\xc9"),
        (".com", b"\xc9"),
        ("empty.com", b""),
        ("big.com", &big),
        ("spin.com", b"\xc9"),
        ("ok.com", b"\xc9"),
        ("OK.bin", b"\xc9"),
        ("max-len-16-chars.com", &[0u8; 1000]),
    ]);
    let v = read(&tar, LIMITS, |n| n == "spin").unwrap();
    assert_eq!(
        rejected(&v),
        [
            ("notes.txt".to_string(), Reject::NotAProgram),
            ("noext".into(), Reject::NotAProgram),
            ("dir/x.com".into(), Reject::BadName),
            ("-dash.com".into(), Reject::BadName),
            ("sp ace.com".into(), Reject::BadName),
            ("seventeen-chars-x.com".into(), Reject::BadName),
            (".com".into(), Reject::BadName),
            ("empty.com".into(), Reject::Empty),
            ("big.com".into(), Reject::TooLarge { size: 1001, max: 1000 }),
            ("spin.com".into(), Reject::Duplicate),
            ("OK.bin".into(), Reject::Duplicate),
        ]
    );
    let names: Vec<String> = loaded(&v).into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["ok", "max-len-16-chars"], "exactly the limits are allowed");
}

#[test]
fn at_most_max_images_load() {
    let tar = archive(&[("a.com", b"\xc9"), ("b.com", b"\xc9"), ("c.com", b"\xc9"), ("d.com", b"\xc9")]);
    let v = read(&tar, LIMITS, none_taken).unwrap();
    assert_eq!(loaded(&v).len(), 3);
    assert_eq!(rejected(&v), [("d.com".to_string(), Reject::TooMany { max: 3 })]);
}

#[test]
fn reasons_read_as_one_line() {
    assert_eq!(
        Reject::TooLarge { size: 70000, max: 64512 }.to_string(),
        "70000 bytes, more than the 64512 a process can load"
    );
    assert_eq!(Reject::Empty.to_string(), "empty");
    assert_eq!(
        ArchiveError::Corrupt(CorruptDataError::InvalidChecksum { block_index: 0 }).to_string(),
        "not a valid tar archive: header at block 0 has an invalid checksum"
    );
    for r in [Reject::NotAProgram, Reject::BadName, Reject::Duplicate, Reject::TooMany { max: 64 }, Reject::Unreadable]
    {
        assert!(!r.to_string().contains('\n'));
    }
}

#[test]
fn a_corrupt_archive_is_refused_whole() {
    let good = archive(&[("a.com", b"\xc9"), ("b.com", b"\xc9")]);
    assert_eq!(read(&[], LIMITS, none_taken), Err(ArchiveError::Empty));
    // A flipped byte in the second header breaks its checksum: nothing loads.
    let mut flipped = good.clone();
    flipped[1024] ^= 0x20;
    assert_eq!(
        read(&flipped, LIMITS, none_taken),
        Err(ArchiveError::Corrupt(CorruptDataError::InvalidChecksum { block_index: 2 }))
    );
    // Cut in the middle of a block, or before the end-of-archive blocks.
    assert_eq!(read(&good[..700], LIMITS, none_taken), Err(ArchiveError::Corrupt(CorruptDataError::InvalidBlockSize)));
    assert_eq!(
        read(&good[..2048], LIMITS, none_taken),
        Err(ArchiveError::Corrupt(CorruptDataError::MissingTerminator))
    );
    // A size that runs past the end.
    let mut long = archive(&[("a.com", b"\xc9")]);
    long[124..136].copy_from_slice(b"00000077777\0");
    let sum: u32 =
        long[..512].iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as u32 }).sum();
    long[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    assert!(matches!(
        read(&long, LIMITS, none_taken),
        Err(ArchiveError::Corrupt(CorruptDataError::PayloadExtendsBeyondArchive { block_index: 0 }))
    ));
    // Text is not an archive.
    let text = vec![b'x'; 2048];
    assert!(matches!(read(&text, LIMITS, none_taken), Err(ArchiveError::Corrupt(_))));
}

#[test]
fn gnu_tar_archives_read() {
    let dir = std::env::temp_dir().join(format!("zbeam-initrd-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("prog.com"), [0x3e, 0x2a, 0xc9]).unwrap();
    std::fs::write(dir.join("readme.txt"), b"text").unwrap();
    let tar = dir.with_extension("tar");
    let st = std::process::Command::new("tar")
        .args(["--format=ustar", "-cf"])
        .arg(&tar)
        .arg("-C")
        .arg(&dir)
        .args(["prog.com", "readme.txt"])
        .status();
    let Ok(st) = st else {
        eprintln!("tar is not installed: GNU tar compatibility not checked");
        return;
    };
    assert!(st.success());
    let bytes = std::fs::read(&tar).unwrap();
    let v = read(&bytes, LIMITS, none_taken).unwrap();
    assert_eq!(loaded(&v), [Program { name: "prog".into(), bytes: &[0x3e, 0x2a, 0xc9] }]);
    assert_eq!(rejected(&v), [("readme.txt".to_string(), Reject::NotAProgram)]);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&tar);
}
