//! Fuzzing the device-tree reader with proptest (bounded for `make test`; `make fuzz`
//! raises PROPTEST_CASES), extending the deterministic storm of `robustness.rs`:
//! random byte flips, word overwrites and truncations of a real tree, and random
//! bytes behind a valid header. Properties: parsing never panics, gives the same
//! answer twice, and what it accepts is consistent (regions do not wrap, a console
//! or interrupt controller it reports is usable by `validate`, and every query on
//! the platform answers).

use proptest::prelude::*;
use zbeam_devtree::{parse, FDT_MAGIC};

const FIXTURE: &[u8] = include_bytes!("fixtures/translated.dtb");

#[derive(Debug, Clone)]
enum Mutation {
    Byte(usize, u8),
    Word(usize, u32),
    Truncate(usize),
}

fn apply(blob: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut b = blob.to_vec();
    for m in muts {
        match *m {
            Mutation::Byte(at, v) => {
                let n = b.len();
                b[at % n] = v;
            }
            Mutation::Word(at, v) => {
                let at = (at % (b.len() / 4)) * 4;
                b[at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
            Mutation::Truncate(len) => {
                let len = 40 + len % (b.len() - 40).max(1);
                b.truncate(len);
                b[4..8].copy_from_slice(&(len as u32).to_be_bytes());
            }
        }
    }
    b
}

fn check(blob: &[u8]) -> Result<(), TestCaseError> {
    let first = parse(blob);
    prop_assert_eq!(&first, &parse(blob), "two parses of the same bytes differ");
    if let Ok(p) = first {
        for r in p.memory.iter() {
            prop_assert!(r.end().is_some() || r.size == 0, "memory region wraps: {:?}", r);
        }
        prop_assert!(p.cpu_count() <= zbeam_devtree::MAX_CPUS);
        let _ = (p.validate(), p.initrd_error(), p.console_error(), p.classes(), p.ram_total());
        let _ = p.boot_cpu_index(0);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2000), ..ProptestConfig::default() })]

    #[test]
    fn mutated_trees_never_panic(muts in prop::collection::vec(prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(a, v)| Mutation::Byte(a, v)),
        2 => (any::<usize>(), prop_oneof![any::<u32>(), 0u32..64, Just(u32::MAX)]).prop_map(|(a, v)| Mutation::Word(a, v)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ], 1..8)) {
        check(&apply(FIXTURE, &muts))?;
    }

    #[test]
    fn random_bytes_behind_a_header_never_panic(body in prop::collection::vec(any::<u8>(), 0..2048), words in prop::array::uniform8(0u32..4096)) {
        let mut blob = Vec::new();
        blob.extend_from_slice(&FDT_MAGIC.to_be_bytes());
        blob.extend_from_slice(&((40 + body.len()) as u32).to_be_bytes());
        for w in &words[..6] {
            blob.extend_from_slice(&w.to_be_bytes());
        }
        blob.extend_from_slice(&17u32.to_be_bytes()[..]);
        blob.truncate(40);
        blob.resize(40, 0);
        blob.extend_from_slice(&body);
        check(&blob)?;
    }
}

/// `n` cases, or PROPTEST_CASES when set (`make fuzz` runs longer).
fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(n)
}
