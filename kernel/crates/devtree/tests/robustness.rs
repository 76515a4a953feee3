//! Bad input gets an error, never a panic: garbage, truncation, broken headers, and
//! a deterministic storm of truncated and byte-flipped copies of every tree.

mod common;

use common::{shared, SHARED};
use zbeam_devtree::{header_total_size, parse, Error, FDT_MAGIC};

const FIXTURE: &[u8] = include_bytes!("fixtures/translated.dtb");

#[test]
fn garbage_is_not_a_device_tree() {
    assert_eq!(parse(&[]), Err(Error::TooShort { len: 0 }));
    assert_eq!(parse(b"hello"), Err(Error::TooShort { len: 5 }));
    let text = b"This is certainly not a flattened device tree blob, just text.";
    let err = parse(text).unwrap_err();
    assert_eq!(err, Error::BadMagic { found: u32::from_be_bytes(*b"This") });
    assert!(err.to_string().starts_with("not a device tree"));
    assert_eq!(parse(&[0u8; 4096]), Err(Error::BadMagic { found: 0 }));
}

#[test]
fn truncated_blob() {
    let len = FIXTURE.len();
    assert_eq!(parse(&FIXTURE[..len / 2]), Err(Error::Truncated { total_size: len, available: len / 2 }));
    assert_eq!(parse(&FIXTURE[..39]), Err(Error::TooShort { len: 39 }));
    assert_eq!(header_total_size(&FIXTURE[..40]), Ok(len));
    // Extra bytes after totalsize are ignored.
    let mut longer = FIXTURE.to_vec();
    longer.extend_from_slice(&[0xff; 100]);
    assert_eq!(parse(&longer), parse(FIXTURE));
}

fn with_word(blob: &[u8], word: usize, value: u32) -> Vec<u8> {
    let mut copy = blob.to_vec();
    copy[word * 4..word * 4 + 4].copy_from_slice(&value.to_be_bytes());
    copy
}

#[test]
fn broken_headers() {
    assert_eq!(FIXTURE[..4], FDT_MAGIC.to_be_bytes());
    // version 16 lacks size_dt_struct
    assert!(matches!(parse(&with_word(FIXTURE, 5, 16)), Err(Error::UnsupportedVersion { .. })));
    // structure block offset past the end, and one that overflows
    assert!(matches!(parse(&with_word(FIXTURE, 2, 0x10_0000)), Err(Error::BadLayout(_))));
    assert!(matches!(parse(&with_word(FIXTURE, 2, 0xffff_fffc)), Err(Error::BadLayout(_))));
    // strings block larger than the blob
    assert!(matches!(parse(&with_word(FIXTURE, 8, 0x7fff_ffff)), Err(Error::BadLayout(_))));
    // totalsize absurd
    assert_eq!(parse(&with_word(FIXTURE, 1, 0xffff_ffff)), Err(Error::BadTotalSize { total_size: 0xffff_ffff }));
    // memory reservation block misaligned, and placed where its 16-byte terminator
    // cannot fit
    assert!(matches!(parse(&with_word(FIXTURE, 4, 44)), Err(Error::BadLayout(_))));
    let total = FIXTURE.len() as u32;
    assert!(matches!(parse(&with_word(FIXTURE, 4, total & !7)), Err(Error::BadLayout(_))));
}

/// xorshift64: a fixed, dependency-free sequence so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Cuts the blob's totalsize short, flips bytes in the header and the meaningful
/// part of the blob, and parses each copy: any panic fails the test. Also checks
/// that mutation is not always harmless (the copies must sometimes be rejected),
/// so the loop cannot pass by never reaching the parser.
fn storm(name: &str, blob: &[u8], rounds: usize) {
    let meaningful = blob.len().min(80 * 1024);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ blob.len() as u64);
    let mut rejected = 0;
    for round in 0..rounds {
        let mut copy = blob.to_vec();
        if round % 4 == 0 {
            // Shrink totalsize and cut the slice to match: a blob truncated mid-way
            // whose header agrees, so only the block checks and the parser can tell.
            let cut = 40 + (rng.next() as usize) % (meaningful - 40);
            copy.truncate(cut);
            copy[4..8].copy_from_slice(&(cut as u32).to_be_bytes());
        } else {
            for _ in 0..1 + rng.next() % 6 {
                let at = if rng.next().is_multiple_of(8) {
                    rng.next() as usize % 40
                } else {
                    rng.next() as usize % meaningful
                };
                copy[at] = rng.next() as u8;
            }
        }
        if parse(&copy).is_err() {
            rejected += 1;
        }
    }
    assert!(rejected > 0, "{name}: no mutated copy was rejected");
}

#[test]
fn mutated_fixture_never_panics() {
    storm("translated.dtb", FIXTURE, 4000);
}

#[test]
fn mutated_shared_trees_never_panic() {
    for name in SHARED {
        let Some(blob) = shared(name) else { return };
        storm(name, &blob, 600);
    }
}
