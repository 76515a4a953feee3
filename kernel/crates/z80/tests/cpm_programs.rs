//! The CP/M exercisers run through the crate's CP/M harness: prelim.com,
//! zexdoc.com and zexall.com must finish with the exact expected transcript and
//! the exact instruction and T-state counts (see `SOURCES.md` in the shared test
//! data for where those counts come from).
//!
//! Each also runs on paged, copy-on-write memory (`zbeam_z80::paged`) with the same
//! transcript and counts.
//!
//! zexdoc and zexall are 5.8 billion instructions each: a few seconds in release
//! mode (`cargo test --release -p zbeam-z80`, as the Makefile runs them), many
//! minutes in a debug build, where they are just as correct, only slow.

use zbeam_z80::cpm::{self, CpmStats};

/// The 67 test names, in order, as both exercisers print them before "  OK".
const ZEX_TESTS: [&str; 67] = [
    "<adc,sbc> hl,<bc,de,hl,sp>....",
    "add hl,<bc,de,hl,sp>..........",
    "add ix,<bc,de,ix,sp>..........",
    "add iy,<bc,de,iy,sp>..........",
    "aluop a,nn....................",
    "aluop a,<b,c,d,e,h,l,(hl),a>..",
    "aluop a,<ixh,ixl,iyh,iyl>.....",
    "aluop a,(<ix,iy>+1)...........",
    "bit n,(<ix,iy>+1).............",
    "bit n,<b,c,d,e,h,l,(hl),a>....",
    "cpd<r>........................",
    "cpi<r>........................",
    "<daa,cpl,scf,ccf>.............",
    "<inc,dec> a...................",
    "<inc,dec> b...................",
    "<inc,dec> bc..................",
    "<inc,dec> c...................",
    "<inc,dec> d...................",
    "<inc,dec> de..................",
    "<inc,dec> e...................",
    "<inc,dec> h...................",
    "<inc,dec> hl..................",
    "<inc,dec> ix..................",
    "<inc,dec> iy..................",
    "<inc,dec> l...................",
    "<inc,dec> (hl)................",
    "<inc,dec> sp..................",
    "<inc,dec> (<ix,iy>+1).........",
    "<inc,dec> ixh.................",
    "<inc,dec> ixl.................",
    "<inc,dec> iyh.................",
    "<inc,dec> iyl.................",
    "ld <bc,de>,(nnnn).............",
    "ld hl,(nnnn)..................",
    "ld sp,(nnnn)..................",
    "ld <ix,iy>,(nnnn).............",
    "ld (nnnn),<bc,de>.............",
    "ld (nnnn),hl..................",
    "ld (nnnn),sp..................",
    "ld (nnnn),<ix,iy>.............",
    "ld <bc,de,hl,sp>,nnnn.........",
    "ld <ix,iy>,nnnn...............",
    "ld a,<(bc),(de)>..............",
    "ld <b,c,d,e,h,l,(hl),a>,nn....",
    "ld (<ix,iy>+1),nn.............",
    "ld <b,c,d,e>,(<ix,iy>+1)......",
    "ld <h,l>,(<ix,iy>+1)..........",
    "ld a,(<ix,iy>+1)..............",
    "ld <ixh,ixl,iyh,iyl>,nn.......",
    "ld <bcdehla>,<bcdehla>........",
    "ld <bcdexya>,<bcdexya>........",
    "ld a,(nnnn) / ld (nnnn),a.....",
    "ldd<r> (1)....................",
    "ldd<r> (2)....................",
    "ldi<r> (1)....................",
    "ldi<r> (2)....................",
    "neg...........................",
    "<rrd,rld>.....................",
    "<rlca,rrca,rla,rra>...........",
    "shf/rot (<ix,iy>+1)...........",
    "shf/rot <b,c,d,e,h,l,(hl),a>..",
    "<set,res> n,<bcdehl(hl)a>.....",
    "<set,res> n,(<ix,iy>+1).......",
    "ld (<ix,iy>+1),<b,c,d,e>......",
    "ld (<ix,iy>+1),<h,l>..........",
    "ld (<ix,iy>+1),a..............",
    "ld (<bc,de>),a................",
];

/// The whole console output of a passing zexdoc/zexall run with banner `banner`.
fn expected_zex_transcript(banner: &str) -> String {
    let mut s = String::from(banner);
    s.push_str("\n\r");
    for name in ZEX_TESTS {
        s.push_str(name);
        s.push_str("  OK\n\r");
    }
    s.push_str("Tests complete");
    s
}

/// Which memory the harness runs on.
#[derive(Clone, Copy, Debug)]
enum Memory {
    /// 64 KiB of plain bytes.
    Flat,
    /// Paged, copy-on-write memory from a shared template (`zbeam_z80::paged`).
    Paged,
}

fn run(file: &str, memory: Memory) -> Option<(String, CpmStats)> {
    let image = zbeam_testdata::read(file)?;
    let mut out = Vec::new();
    let template = match memory {
        Memory::Flat => None,
        Memory::Paged => Some(cpm::template(&image).unwrap_or_else(|e| panic!("{file}: {e}")).expect("memory")),
    };
    let stats = match &template {
        None => cpm::run_com(&image, &mut |b| out.push(b)),
        Some(t) => cpm::CpmMachine::paged(t).run(u64::MAX, &mut |b| out.push(b)),
    }
    .unwrap_or_else(|e| panic!("{file} ({memory:?}): {e}"));
    Some((String::from_utf8_lossy(&out).into_owned(), stats))
}

fn check_zex(file: &str, banner: &str, memory: Memory) {
    let Some((text, stats)) = run(file, memory) else {
        return;
    };
    let errors: Vec<&str> = text.split("\n\r").filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "{file}: failing tests:\n{}", errors.join("\n"));
    assert_eq!(text, expected_zex_transcript(banner), "{file}: transcript");
    assert_eq!(stats, CpmStats { instructions: 5_764_169_610, tstates: 46_734_977_142 }, "{file}: counts");
}

#[test]
fn prelim_passes_with_exact_counts() {
    for memory in [Memory::Flat, Memory::Paged] {
        let Some((text, stats)) = run("z80/prelim.com", memory) else {
            return;
        };
        assert_eq!(text, "Preliminary tests complete");
        assert_eq!(stats, CpmStats { instructions: 897, tstates: 8_699 }, "{memory:?}");
    }
}

#[test]
fn zexdoc_passes_with_exact_counts() {
    check_zex("z80/zexdoc.com", "Z80doc instruction exerciser", Memory::Flat);
}

#[test]
fn zexall_passes_with_exact_counts() {
    check_zex("z80/zexall.com", "Z80all instruction exerciser", Memory::Flat);
}

#[test]
fn zexdoc_passes_on_paged_memory_with_exact_counts() {
    check_zex("z80/zexdoc.com", "Z80doc instruction exerciser", Memory::Paged);
}

#[test]
fn zexall_passes_on_paged_memory_with_exact_counts() {
    check_zex("z80/zexall.com", "Z80all instruction exerciser", Memory::Paged);
}

#[test]
fn instruction_limit_stops_exactly() {
    let Some(image) = zbeam_testdata::read("z80/zexdoc.com") else {
        return;
    };
    let mut out = Vec::new();
    let err = cpm::run_com_limited(&image, 100_000, &mut |b| out.push(b)).unwrap_err();
    match err {
        cpm::CpmError::InstructionLimit { stats } => assert_eq!(stats.instructions, 100_000),
        other => panic!("expected the instruction limit, got {other:?}"),
    }
    assert!(out.starts_with(b"Z80doc instruction exerciser\n\r"));
}
