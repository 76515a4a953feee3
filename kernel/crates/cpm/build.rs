//! Assembles the CP/M test programs `programs/cpm/*.asm` with pasmo (Debian package
//! `pasmo`) into OUT_DIR, for the host tests that run them on the Z80 core.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let programs = manifest.join("../../../programs/cpm").canonicalize().expect("programs/cpm beside the kernel");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed={}", programs.display());
    for entry in std::fs::read_dir(&programs).expect("read programs/cpm").filter_map(|e| e.ok()) {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.extension().is_none_or(|x| x != "asm") {
            continue;
        }
        let name = path.file_stem().expect("a file name").to_string_lossy().into_owned();
        let bin = out.join(format!("{name}.com"));
        let result = Command::new("pasmo").current_dir(&programs).arg(format!("{name}.asm")).arg(&bin).output();
        match result {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "pasmo could not assemble programs/cpm/{name}.asm:\n{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!(
                "pasmo is needed to assemble the CP/M test programs ({e}); install the Debian package pasmo \
                 (tools/prereqs.sh does this)"
            ),
        }
    }
}
