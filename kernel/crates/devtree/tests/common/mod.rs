//! Helpers shared by the integration tests: loading the shared trees, and a tiny
//! FDT walker (Devicetree Specification v0.4, 5.4) used only to find a property's
//! bytes so a test can patch a copy of a blob. It is written independently of the
//! crate under test so a bug there cannot hide a bug here.

#![allow(dead_code)]

/// Every shared tree, by file name.
pub const SHARED: [&str; 7] = [
    "qemu-virt-gicv2-smp4.dtb",
    "qemu-virt-gicv3-smp4.dtb",
    "qemu-virt-el2-gicv2-smp4.dtb",
    "qemu-virt-hetero-smp4.dtb",
    "t8103-j274.dtb",
    "t6000-j314s.dtb",
    "t6001-j375c.dtb",
];

/// A shared tree, or `None` (outside CI) when the test data is missing.
pub fn shared(name: &str) -> Option<Vec<u8>> {
    zbeam_testdata::read(&format!("dtb/{name}"))
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// Byte offset and length of property `prop` of the node at `path` (full names,
/// e.g. `["cpus", "cpu@10102"]`).
pub fn find_prop(dtb: &[u8], path: &[&str], prop: &str) -> Option<(usize, usize)> {
    const BEGIN_NODE: u32 = 1;
    const END_NODE: u32 = 2;
    const PROP: u32 = 3;
    const NOP: u32 = 4;
    let off_struct = be32(dtb, 8) as usize;
    let off_strings = be32(dtb, 12) as usize;
    let mut at = off_struct;
    let mut stack: Vec<String> = Vec::new();
    loop {
        let token = be32(dtb, at);
        at += 4;
        match token {
            BEGIN_NODE => {
                let end = at + dtb[at..].iter().position(|&b| b == 0)?;
                stack.push(String::from_utf8_lossy(&dtb[at..end]).into_owned());
                at = (end + 1 + 3) & !3;
            }
            END_NODE => {
                stack.pop();
            }
            PROP => {
                let len = be32(dtb, at) as usize;
                let name_off = off_strings + be32(dtb, at + 4) as usize;
                let name_end = name_off + dtb[name_off..].iter().position(|&b| b == 0)?;
                let value_at = at + 8;
                if &dtb[name_off..name_end] == prop.as_bytes()
                    && stack.len() == path.len() + 1
                    && stack[1..].iter().zip(path).all(|(a, b)| a == b)
                {
                    return Some((value_at, len));
                }
                at = (value_at + len + 3) & !3;
            }
            NOP => {}
            _ => return None,
        }
    }
}

/// A copy of `dtb` with the value of `prop` at `path` replaced by `value` (same length).
pub fn patched(dtb: &[u8], path: &[&str], prop: &str, value: &[u8]) -> Vec<u8> {
    let (at, len) = find_prop(dtb, path, prop).expect("property to patch");
    assert_eq!(len, value.len(), "patch must keep the property length");
    let mut copy = dtb.to_vec();
    copy[at..at + len].copy_from_slice(value);
    copy
}
