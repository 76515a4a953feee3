//! `/chosen` `linux,initrd-start` / `linux,initrd-end`: read in both widths, absent
//! in the shared trees, and every malformed form is reported without failing the parse.

mod common;

use common::{patched, shared, SHARED};
use zbeam_devtree::{parse, Error, PhysAddr, Region};

const INITRD32: &[u8] = include_bytes!("fixtures/initrd32.dtb");
const INITRD64: &[u8] = include_bytes!("fixtures/initrd64.dtb");
const BAD_LEN: &[u8] = include_bytes!("fixtures/initrd-bad-len.dtb");
const NO_END: &[u8] = include_bytes!("fixtures/initrd-no-end.dtb");
const NO_INITRD: &[u8] = include_bytes!("fixtures/no-console.dtb");

#[test]
fn thirty_two_bit_values_as_qemu_writes_them() {
    let p = parse(INITRD32).unwrap();
    assert_eq!(p.initrd, Some(Region { base: PhysAddr(0x4800_0000), size: 0x23e8 }));
    assert_eq!(p.initrd_error(), None);
    assert_eq!(p.initrd.unwrap().end(), Some(0x4800_23e8), "the end is exclusive");
    assert_eq!(p.bootargs, "initrd test");
}

#[test]
fn sixty_four_bit_values_above_4_gib() {
    let p = parse(INITRD64).unwrap();
    assert_eq!(p.initrd, Some(Region { base: PhysAddr(0x8_0000_0000), size: 0x10_0000 }));
    assert_eq!(p.initrd_error(), None);
}

#[test]
fn absent_is_none_without_an_error() {
    let p = parse(NO_INITRD).unwrap();
    assert_eq!(p.initrd, None);
    assert_eq!(p.initrd_error(), None);
}

#[test]
fn empty_initrd_is_a_region_of_size_zero() {
    // end = start: not an error here; the kernel decides what an empty archive means.
    let copy = patched(INITRD32, &["chosen"], "linux,initrd-end", &0x4800_0000u32.to_be_bytes());
    let p = parse(&copy).unwrap();
    assert_eq!(p.initrd, Some(Region { base: PhysAddr(0x4800_0000), size: 0 }));
    assert_eq!(p.initrd_error(), None);
}

#[test]
fn end_before_start_is_reported_not_fatal() {
    let copy = patched(INITRD32, &["chosen"], "linux,initrd-end", &0x47ff_ffffu32.to_be_bytes());
    let p = parse(&copy).expect("a bad initrd does not stop the parse");
    assert_eq!(p.initrd, None);
    let err = p.initrd_error().unwrap();
    assert_eq!(err, Error::BadProperty { node: "chosen", property: "linux,initrd-end" });
    assert_eq!(err.to_string(), "device tree: chosen property linux,initrd-end is malformed");
}

#[test]
fn wrong_length_is_reported() {
    let p = parse(BAD_LEN).expect("a bad initrd does not stop the parse");
    assert_eq!(p.initrd, None);
    assert_eq!(p.initrd_error(), Some(Error::BadProperty { node: "chosen", property: "linux,initrd-start" }));
}

#[test]
fn start_without_end_is_reported() {
    let p = parse(NO_END).expect("a bad initrd does not stop the parse");
    assert_eq!(p.initrd, None);
    assert_eq!(p.initrd_error(), Some(Error::BadProperty { node: "chosen", property: "linux,initrd-end" }));
}

#[test]
fn end_without_start_is_reported() {
    // Rename the start property in a copy: same length, so the blob stays valid.
    let mut copy = INITRD32.to_vec();
    let at = copy.windows(18).position(|w| w == b"linux,initrd-start").expect("the name in the strings block");
    copy[at..at + 18].copy_from_slice(b"linux,initrd-stArt");
    let p = parse(&copy).unwrap();
    assert_eq!(p.initrd, None);
    assert_eq!(p.initrd_error(), Some(Error::BadProperty { node: "chosen", property: "linux,initrd-start" }));
}

#[test]
fn shared_trees_have_no_initrd() {
    for name in SHARED {
        let Some(blob) = shared(name) else { continue };
        let p = parse(&blob).unwrap();
        assert_eq!(p.initrd, None, "{name}");
        assert_eq!(p.initrd_error(), None, "{name}");
    }
}
