//! Every program of the suite, prelim, the first zexdoc test and the CP/M `hello`
//! run through the dispatcher end in the sequential run's exact state: console
//! output, instruction and T-state counts, every register and latch, all 64 KiB of
//! memory; across learner seeds and 1 to 4 instances (cost-model pool).
mod common;
use common::*;
use zbeam_dispatch::{suite, Config, Policy};

#[test]
fn suite_outputs_are_the_recorded_ones() {
    assert!(suite::PROGRAMS.len() >= 10);
    for p in suite::PROGRAMS {
        let r = reference(p.image, 1_000_000_000);
        assert!(r.ok, "{} did not finish", p.name);
        assert_eq!(String::from_utf8_lossy(&r.out), String::from_utf8_lossy(p.expected), "{}", p.name);
    }
}

#[test]
fn suite_is_bit_exact_for_1_to_4_instances_and_several_seeds() {
    for p in suite::PROGRAMS {
        let r = reference(p.image, 1_000_000_000);
        for instances in 1..=4 {
            for seed in [1, 7, 1234] {
                let cfg = Config { tasks: instances, seed, ..Config::default() };
                let mut policy = Policy::new(p.image);
                let (out, d) = dispatched(p.image, &cfg, instances, &mut policy);
                assert_same(&format!("{} ({instances} instances, seed {seed})", p.name), &r, &out, &d);
            }
        }
    }
}

#[test]
fn many_seeds_with_a_persisted_policy() {
    for name in ["vecops", "carried", "blocksum", "histogram"] {
        let p = suite::find(name).unwrap();
        let r = reference(p.image, 1_000_000_000);
        let mut policy = Policy::new(p.image);
        for seed in 0..12u64 {
            let instances = 2 + (seed as usize % 3);
            let cfg = Config { tasks: instances, seed, ..Config::default() };
            let text = policy.to_text();
            policy = Policy::from_text(&text, p.image).expect("the policy reads back");
            let (out, d) = dispatched(p.image, &cfg, instances, &mut policy);
            assert_same(&format!("{name} (seed {seed})"), &r, &out, &d);
        }
    }
}

#[test]
fn loop_parallel_programs_commit_speculative_work() {
    for p in suite::PROGRAMS.iter().filter(|p| p.class == "loop-parallel") {
        let cfg = Config { tasks: 4, ..Config::default() };
        let mut policy = Policy::new(p.image);
        let (_, d) = dispatched(p.image, &cfg, 4, &mut policy);
        assert!(d.stats.committed > 0, "{}: nothing committed: {:?}", p.name, d.stats);
        assert!(d.stats.speculative_tstates * 4 > d.tstates, "{}: under a quarter speculative: {:?}", p.name, d.stats);
    }
}

fn exact_on(name: &str, image: &[u8], limit: u64) {
    let r = reference(image, limit);
    for instances in [1, 2, 4] {
        let cfg = Config { tasks: instances, seed: instances as u64, max_instructions: limit, ..Config::default() };
        let mut policy = Policy::new(image);
        let (out, d) = dispatched(image, &cfg, instances, &mut policy);
        assert_same(&format!("{name} ({instances} instances)"), &r, &out, &d);
    }
}

#[test]
fn prelim_is_bit_exact() {
    let Some(image) = zbeam_testdata::read("z80/prelim.com") else { return };
    exact_on("prelim", &image, 1_000_000);
}

#[test]
fn zexdoc_first_test_is_bit_exact() {
    let Some(image) = zbeam_testdata::read("z80/zexdoc.com") else { return };
    let image = zexdoc_first(&image, 1);
    let r = reference(&image, 2_000_000_000);
    assert!(r.ok && String::from_utf8_lossy(&r.out).contains("OK"), "{}", String::from_utf8_lossy(&r.out));
    exact_on("zexdoc test 1", &image, 2_000_000_000);
}

#[test]
fn the_instruction_limit_is_exact() {
    let p = suite::find("mandel").unwrap();
    exact_on("mandel, limited", p.image, 3_000_000);
}

#[test]
fn hostile_images_end_cleanly() {
    let mut policy = Policy::new(b"");
    let big = vec![0u8; 0xF000];
    let (_, d) = dispatched(&big, &Config::default(), 2, &mut policy);
    assert!(matches!(d.result, Err(zbeam_dispatch::RunError::ImageTooLarge(_))));
    // A tight self-loop, a loop writing over its own code, and a halt.
    for image in [&[0x18u8, 0xFE][..], &[0x21, 0x00, 0x01, 0x34, 0x18, 0xFD][..], &[0xF3, 0x76][..]] {
        exact_on("hostile", image, 200_000);
    }
}

/// Assembles `programs/NAME.asm` with pasmo into a temporary file.
fn assemble(rel: &str) -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../programs");
    let src = root.join(rel);
    let out = std::env::temp_dir().join(format!("zbeam-dispatch-{}-{}.com", std::process::id(), rel.replace('/', "-")));
    let o = std::process::Command::new("pasmo")
        .current_dir(src.parent().unwrap())
        .arg(src.file_name().unwrap())
        .arg(&out)
        .output()
        .expect("pasmo runs");
    assert!(o.status.success(), "pasmo {rel}: {}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    bytes
}

#[test]
fn the_cpm_hello_program_is_bit_exact() {
    let image = assemble("hello.asm");
    exact_on("hello", &image, 10_000);
    assert_eq!(reference(&image, 10_000).out, b"Hello from a Z80 process\r\n");
}
