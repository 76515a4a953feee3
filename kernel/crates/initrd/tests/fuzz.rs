//! Fuzzing the initrd reader with proptest (bounded for `make test`; `make fuzz`
//! raises PROPTEST_CASES): random archives built from random members (names, sizes,
//! type flags), then byte-flipped, truncated or padded. Properties: reading never
//! panics and gives the same answer twice; what it loads obeys every rule of the
//! crate documentation (within the limits, named by `program_name`, no duplicates,
//! bytes taken from inside the archive).

use proptest::prelude::*;
use zbeam_initrd::{program_name, read, Limits, Verdict};

const LIMITS: Limits = Limits { max_bytes: 700, max_images: 4 };

mod common;
use common::member;

fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => "[a-z]{1,8}\\.com".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..120),
        1 => Just(b"dup.com".to_vec()),
    ]
}

fn archive() -> impl Strategy<Value = Vec<u8>> {
    let m = (name(), prop::collection::vec(any::<u8>(), 0..900), prop_oneof![4 => Just(b'0'), 1 => any::<u8>()]);
    let flips = prop_oneof![2 => Just(Vec::new()), 1 => prop::collection::vec((any::<usize>(), any::<u8>()), 1..4)];
    (prop::collection::vec(m, 0..7), flips, prop::option::weighted(0.2, any::<usize>())).prop_map(
        |(members, flips, cut)| {
            let mut a: Vec<u8> = members.iter().flat_map(|(n, d, t)| member(n, d, *t)).collect();
            a.extend_from_slice(&[0u8; 1024]);
            for (at, v) in flips {
                let n = a.len();
                a[at % n] = v;
            }
            if let Some(c) = cut {
                let n = a.len();
                a.truncate(c % (n + 1));
            }
            a
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1000), ..ProptestConfig::default() })]

    #[test]
    fn random_archives_obey_the_rules(a in archive()) {
        let first = read(&a, LIMITS, |n| n == "spin");
        prop_assert_eq!(&first, &read(&a, LIMITS, |n| n == "spin"));
        if let Ok(verdicts) = first {
            let loaded: Vec<_> = verdicts.iter().filter_map(|v| match v { Verdict::Loaded(p) => Some(p), _ => None }).collect();
            prop_assert!(loaded.len() <= LIMITS.max_images);
            for (i, p) in loaded.iter().enumerate() {
                prop_assert!(!p.bytes.is_empty() && p.bytes.len() <= LIMITS.max_bytes);
                prop_assert!(p.name != "spin", "a taken name was loaded");
                prop_assert!(loaded[..i].iter().all(|q| q.name != p.name), "duplicate {}", p.name);
                let again = program_name(&format!("{}.com", p.name));
                prop_assert_eq!(again, Ok(p.name.clone()));
                let inside = a.as_ptr_range();
                prop_assert!(inside.contains(&p.bytes.as_ptr()), "bytes from outside the archive");
            }
        }
    }
}

/// The generator is not vacuous: a good share of its archives load programs, and
/// some are refused as a whole.
#[test]
fn generated_archives_reach_both_outcomes() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut loads, mut refused) = (0, 0);
    for _ in 0..300 {
        let a = archive().new_tree(&mut runner).unwrap().current();
        match read(&a, LIMITS, |_| false) {
            Ok(v) if v.iter().any(|v| matches!(v, Verdict::Loaded(_))) => loads += 1,
            Ok(_) => {}
            Err(_) => refused += 1,
        }
    }
    assert!(loads > 30 && refused > 10, "{loads} archives loaded programs, {refused} refused");
}

/// `n` cases, or PROPTEST_CASES when set (`make fuzz` runs longer).
fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(n)
}
