//! `zbeam-hosted`: runs built-in Z80 programs on the hosted runtime until they all
//! exit, printing their console output, then a per-core summary.
//!
//! Usage: `zbeam-hosted [--cores N] [--timeout SECS] IMAGE[:ARG_BYTES_HEX]...`,
//! e.g. `zbeam-hosted hello` or `zbeam-hosted --cores 2 spin:0100 spin:0100`.

use std::time::Duration;
use zbeam_hosted::{engine, run, Console, Options};
use zbeam_sched::{CoreId, CpuSet, Priority};

fn usage(err: &str) -> ! {
    eprintln!("zbeam-hosted: {err}");
    eprintln!("usage: zbeam-hosted [--cores N] [--timeout SECS] IMAGE[:ARG_BYTES_HEX]...");
    eprintln!("images: {}", zbeam_images::IMAGES.iter().map(|i| i.name).collect::<Vec<_>>().join(" "));
    std::process::exit(2)
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

fn main() {
    let mut cores = 2usize;
    let mut opts = Options::default();
    let mut progs: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cores" => {
                cores = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage("--cores needs a number"))
            }
            "--timeout" => {
                let s: u64 =
                    args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage("--timeout needs seconds"));
                opts.timeout = Some(Duration::from_secs(s));
            }
            "-h" | "--help" => usage("help"),
            spec => {
                let (name, hex) = spec.split_once(':').unwrap_or((spec, ""));
                let image = zbeam_images::IMAGES
                    .iter()
                    .position(|i| i.name == name)
                    .unwrap_or_else(|| usage(&format!("no image called {name}")));
                let bytes = hex_bytes(hex).unwrap_or_else(|| usage(&format!("bad argument bytes {hex:?}")));
                progs.push((image, bytes));
            }
        }
    }
    if progs.is_empty() {
        usage("no image given");
    }
    if cores == 0 || cores > zbeam_sched::MAX_CORES {
        usage("--cores must be 1..=64");
    }
    let e = engine(cores, 4096, Console::Stdout);
    for (image, bytes) in &progs {
        if let Err(err) = e.spawn_image(*image, bytes, Priority::Normal, CpuSet::ALL, CoreId::new(0)) {
            usage(&format!("spawn failed: {err:?}"));
        }
    }
    let report = run(&e, &opts, || e.live() == 0);
    eprintln!("zbeam-hosted: {} after {:?}", if report.completed { "all exited" } else { "timed out" }, report.wall);
    for (c, r) in report.cores.iter().enumerate() {
        eprintln!(
            "  core {c}: {} reductions, {} switches, {} steals, {} idle waits",
            r.stats.reductions, r.stats.context_switches, r.stats.steals, r.idles
        );
    }
    std::process::exit(i32::from(!report.completed));
}
