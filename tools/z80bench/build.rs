//! Records what the benchmark table must name but the binary cannot see on its own:
//! the rustc that built it and the exact versions of the peer cores from Cargo.lock.

use std::path::Path;
use std::process::Command;

/// The peer crates whose locked versions become `Z80BENCH_VERSION_<NAME>` variables.
const PEERS: [&str; 4] = ["z80", "rustzx-z80", "zilog_z80", "iz80"];

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "rustc (unknown version)".into());
    println!("cargo:rustc-env=Z80BENCH_RUSTC={version}");

    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let lock_path = Path::new(&manifest).join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    println!("cargo:rerun-if-changed=build.rs");
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    for peer in PEERS {
        let found = locked_version(&lock, peer).unwrap_or_else(|| "?".into());
        println!("cargo:rustc-env=Z80BENCH_VERSION_{}={found}", env_name(peer));
    }
}

/// `rustzx-z80` -> `RUSTZX_Z80`.
fn env_name(krate: &str) -> String {
    krate.to_ascii_uppercase().replace('-', "_")
}

/// The `version` line that follows `name = "<krate>"` in a Cargo.lock `[[package]]` entry.
fn locked_version(lock: &str, krate: &str) -> Option<String> {
    let wanted = format!("name = \"{krate}\"");
    let mut lines = lines_trimmed(lock);
    while let Some(line) = lines.next() {
        if line == wanted {
            let next = lines.next()?;
            let v = next.strip_prefix("version = \"")?.strip_suffix('"')?;
            return Some(v.to_string());
        }
    }
    None
}

fn lines_trimmed(s: &str) -> impl Iterator<Item = &str> {
    s.lines().map(str::trim)
}
