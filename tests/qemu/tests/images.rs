//! Program images from an initrd (kernel/src/initrd.rs, kernel/crates/initrd) and the
//! Z80 exercisers as kernel processes (kernel/src/ktest/images.rs), in QEMU. The
//! in-kernel driver prints each process's exit and its captured output, escaped on
//! one line (`\n`, `\r`), which these tests compare byte for byte.

use std::time::Duration;
use zbeam_qemu_tests::{initrd, raw_initrd, run, tar_initrd, Machine, Outcome};

/// `LD DE,msg; LD C,9; CALL 5; RET` and the `$`-terminated text: prints `text`.
fn printer(text: &str) -> Vec<u8> {
    let mut p = vec![0x11, 0x09, 0x01, 0x0e, 0x09, 0xcd, 0x05, 0x00, 0xc9];
    p.extend_from_slice(text.as_bytes());
    p.push(b'$');
    p
}

fn images_test(m: Machine) -> Outcome {
    let o = run(&Machine { append: "test=images".into(), ..m });
    o.expect_code(0).expect("test images: PASS");
    o
}

/// A good archive made by tools/mkinitrd.sh: the banner lists both images, the table
/// has them after the built-ins, and each runs as a process with its exact output.
#[test]
fn good_initrd_is_listed_and_its_images_run() {
    let hi = printer("hi from the initrd\r\n");
    let bye = printer("bye");
    let rd = initrd("good", &[("hi.com", &hi), ("Bye.COM", &bye)]);
    let o = images_test(Machine { initrd: Some(rd), smp: 2, ..Machine::default() });
    o.expect(&format!(
        "images from 0x48000000..0x48002800 (10240 bytes): hi ({} bytes), bye ({} bytes)",
        hi.len(),
        bye.len()
    ))
    .expect(&format!("hi ({} bytes, initrd)", hi.len()))
    .expect(&format!("bye ({} bytes, initrd)", bye.len()))
    .expect("spin (")
    .expect("test images: spawned 2 initrd images")
    .expect(r#" hi exit normal output "hi from the initrd\r\n""#)
    .expect(r#" bye exit normal output "bye""#);
    assert!(o.output.contains("  initrd      2 images from"), "{}", o.output);
}

/// Without an initrd nothing changes: no initrd line, only built-in images.
#[test]
fn no_initrd_boots_with_the_built_in_images() {
    let o = images_test(Machine { smp: 2, ..Machine::default() });
    o.expect("test images: spawned 0 initrd images");
    assert!(!o.output.contains("initrd      "), "{}", o.output);
    assert!(!o.output.contains(", initrd)"), "{}", o.output);
}

/// A corrupt archive (a flipped byte in a header), text, and a truncated archive are
/// each refused whole with one line; the kernel boots and runs with the built-ins.
#[test]
fn malformed_archives_are_refused_and_harm_nothing() {
    let good = std::fs::read(initrd("for-corruption", &[("hi.com", &printer("hi"))])).unwrap();
    let mut flipped = good.clone();
    flipped[0] ^= 0x01;
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("flipped", flipped, "not a valid tar archive: header at block 0 has an invalid checksum"),
        (
            "text",
            b"this is not an archive!\n".repeat(64),
            "not a valid tar archive: header at block 0 has an invalid checksum",
        ),
        ("truncated", good[..1536].to_vec(), "not a valid tar archive: archive does not end with two zero blocks"),
    ];
    for (name, bytes, why) in cases {
        let o = images_test(Machine { initrd: Some(raw_initrd(name, &bytes)), smp: 2, ..Machine::default() });
        o.expect(&format!(
            "  initrd      rejected 0x48000000..{:#x}: {why}; booting with the built-in images",
            0x4800_0000 + bytes.len()
        ))
        .expect("test images: spawned 0 initrd images");
    }
}

/// File by file: too large, empty, not a program, a bad name and a built-in's name
/// are each refused with their reason; the one good program still loads and runs.
#[test]
fn oversize_empty_and_misnamed_images_are_refused_one_by_one() {
    let big = vec![0u8; 70_000];
    let ok = printer("still here");
    let rd = tar_initrd(
        "bad-files",
        &[
            ("big.com", &big),
            ("empty.com", b""),
            ("readme.txt", b"text"),
            ("has space.com", &ok),
            ("spin.com", &ok),
            ("ok.com", &ok),
        ],
    );
    let o = images_test(Machine { initrd: Some(rd), smp: 2, ..Machine::default() });
    o.expect("  initrd      rejected big.com: 70000 bytes, more than the 64512 a process can load")
        .expect("  initrd      rejected empty.com: empty")
        .expect("  initrd      rejected readme.txt: not a .com or .bin file")
        .expect("  initrd      rejected has space.com: name must be 1-16 of a-z 0-9 _ - with no directory")
        .expect("  initrd      rejected spin.com: an image of that name exists")
        .expect(&format!(": ok ({} bytes)", ok.len()))
        .expect("  initrd      1 image from")
        .expect("test images: spawned 1 initrd images")
        .expect(r#" ok exit normal output "still here""#);
}

/// tools/mkinitrd.sh refuses what the kernel would refuse, before anything boots.
#[test]
fn mkinitrd_refuses_bad_files() {
    let dir = std::env::temp_dir().join(format!("zbeam-mkinitrd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/mkinitrd.sh");
    for (file, bytes) in
        [("big.com", vec![0u8; 64_513]), ("empty.com", vec![]), ("notes.txt", vec![1]), ("a b.com", vec![1])]
    {
        let p = dir.join(file);
        std::fs::write(&p, &bytes).unwrap();
        let out = std::process::Command::new(script).arg(dir.join("x.tar")).arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("mkinitrd: "), "{file}");
    }
    let p = dir.join("max.com");
    std::fs::write(&p, vec![0u8; 64_512]).unwrap();
    let st = std::process::Command::new(script).arg(dir.join("x.tar")).arg(&p).status().unwrap();
    assert!(st.success(), "a 64512-byte program is allowed");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The exercisers as kernel processes on all 4 cores at once: 4 copies of zexdoc
/// running only its first test (its test table ended after one entry in each
/// process's memory) and 4 of prelim, each one's output exactly as on a real CP/M.
#[test]
fn exercisers_run_as_processes_on_every_core() {
    let (Some(zexdoc), Some(prelim)) =
        (zbeam_testdata::require("z80/zexdoc.com"), zbeam_testdata::require("z80/prelim.com"))
    else {
        return;
    };
    let (zexdoc, prelim) = (std::fs::read(zexdoc).unwrap(), std::fs::read(prelim).unwrap());
    let rd = initrd("exercisers", &[("zexdoc.com", &zexdoc), ("prelim.com", &prelim)]);
    let o = run(&Machine {
        initrd: Some(rd),
        append: "test=zex zexk=1".into(),
        timeout: Duration::from_secs(150),
        ..Machine::default()
    });
    o.expect_code(0)
        .expect("zexdoc (8588 bytes), prelim (1280 bytes)")
        .expect("test zex: zexdoc has 67 tests (table at 0x013a); running the first 1")
        .expect("test zex: the processes ran on cores mask 0xf")
        .expect("test zex: PASS");
    let zex_line = r#" zexdoc exit normal after 279550742 instructions ok: "Z80doc instruction exerciser\n\r<adc,sbc> hl,<bc,de,hl,sp>....  OK\n\rTests complete""#;
    let prelim_line = r#" prelim exit normal after 897 instructions ok: "Preliminary tests complete""#;
    assert_eq!(o.output.matches(zex_line).count(), 4, "{}", o.output);
    assert_eq!(o.output.matches(prelim_line).count(), 4, "{}", o.output);
}

/// The max-processes figure's code path, small: spawn until refused in 256 MiB.
#[test]
fn process_count_figure_runs() {
    let o = run(&Machine { append: "test=bench-procs".into(), smp: 2, ..Machine::default() });
    o.expect_code(0).expect("bench procs: table of").expect("bytes per process").expect("test bench-procs: PASS");
}
