//! Builds the SymbOS test programs `programs/symbos/*.asm` into executables in
//! OUT_DIR: each is assembled by pasmo (Debian package `pasmo`) at two origins and
//! linked by `src/link.rs` (the relocation table from the difference), as the
//! `symexe` tool does.
extern crate alloc;

#[path = "src/link.rs"]
mod link;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The first origin; the second is 0x100 above.
const ORIGIN: u16 = 0x1000;

fn assemble(dir: &Path, name: &str, origin: u16, out: &Path) -> Vec<u8> {
    let bin = out.join(format!("{name}-{origin:04x}.bin"));
    let result = Command::new("pasmo")
        .current_dir(dir)
        .arg("--equ")
        .arg(format!("symorg={origin}"))
        .arg(format!("{name}.asm"))
        .arg(&bin)
        .output();
    match result {
        Ok(o) if o.status.success() => std::fs::read(&bin).expect("pasmo wrote the binary"),
        Ok(o) => panic!(
            "pasmo could not assemble programs/symbos/{name}.asm:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => {
            panic!("pasmo is needed to assemble the SymbOS test programs ({e}); install the Debian package pasmo")
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let programs = manifest.join("../../../programs/symbos").canonicalize().expect("programs/symbos beside the kernel");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed={}", programs.display());
    println!("cargo:rerun-if-changed=src/link.rs");
    for entry in std::fs::read_dir(&programs).expect("read programs/symbos").filter_map(|e| e.ok()) {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.extension().is_none_or(|x| x != "asm") {
            continue;
        }
        let name = path.file_stem().expect("a file name").to_string_lossy().into_owned();
        let low = assemble(&programs, &name, ORIGIN, &out);
        let high = assemble(&programs, &name, ORIGIN + link::ORIGIN_STEP, &out);
        let exe = link::link(&low, &high, ORIGIN).unwrap_or_else(|e| panic!("programs/symbos/{name}.asm: {e}"));
        std::fs::write(out.join(format!("{name}.exe")), exe).expect("write the executable");
    }
}
