//! Assembles every `programs/*.asm`, and every CP/M program `programs/cpm/*.asm` as
//! image `cpm-NAME`, with pasmo (Debian package `pasmo`) into OUT_DIR and writes the
//! image table, sorted by name so image numbers are stable. SymbOS programs
//! `programs/symbos/*.asm` become images `sym-NAME`: SymbOS executables, assembled at
//! two origins and linked by zbeam-symbos's `link` (included below).
extern crate alloc;

#[path = "../symbos/src/link.rs"]
mod link;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `.asm` files of `dir` as (image name, file stem), watched for changes.
fn sources(dir: &Path, prefix: &str) -> Vec<(String, String)> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut found = Vec::new();
    for path in std::fs::read_dir(dir).expect("read a programs directory").filter_map(|e| e.ok()).map(|e| e.path()) {
        // Includes too: a change to one reassembles.
        println!("cargo:rerun-if-changed={}", path.display());
        if path.extension().is_some_and(|x| x == "asm") {
            let stem = path.file_stem().expect("a file name").to_string_lossy().into_owned();
            found.push((format!("{prefix}{stem}"), stem));
        }
    }
    found
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let programs = manifest.join("../../../programs").canonicalize().expect("programs/ beside the kernel");
    let cpm = programs.join("cpm");
    let symbos = programs.join("symbos");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut names: Vec<(String, String, &Path)> = sources(&programs, "")
        .into_iter()
        .map(|(n, s)| (n, s, programs.as_path()))
        .chain(sources(&cpm, "cpm-").into_iter().map(|(n, s)| (n, s, cpm.as_path())))
        .chain(sources(&symbos, "sym-").into_iter().map(|(n, s)| (n, s, symbos.as_path())))
        .collect();
    println!("cargo:rerun-if-changed=../symbos/src/link.rs");
    names.sort();
    let mut table = String::from("/// The built-in images, sorted by name.\npub static IMAGES: &[Image] = &[\n");
    let mut consts = String::new();
    for (i, (name, stem, dir)) in names.iter().enumerate() {
        let bin = out.join(format!("{name}.bin"));
        if *dir == symbos.as_path() {
            // Two origins a page apart; the bytes that differ are the relocation table.
            let at = |origin: u16| {
                let b = out.join(format!("{name}-{origin}.bin"));
                assemble_at(dir, &format!("{stem}.asm"), &b, Some(origin));
                std::fs::read(&b).expect("pasmo wrote the binary")
            };
            let exe = link::link(&at(0x1000), &at(0x1000 + link::ORIGIN_STEP), 0x1000)
                .unwrap_or_else(|e| panic!("programs/symbos/{stem}.asm: {e}"));
            std::fs::write(&bin, exe).expect("write the SymbOS executable");
        } else {
            assemble(dir, &format!("{stem}.asm"), &bin);
        }
        table.push_str(&format!(
            "    Image {{ name: {name:?}, bytes: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.bin\")) }},\n"
        ));
        let konst = name.to_uppercase().replace('-', "_");
        consts.push_str(&format!("/// Image number of `{name}`.\npub const {konst}: usize = {i};\n"));
    }
    table.push_str("];\n");
    std::fs::write(out.join("images.rs"), format!("{table}\n{consts}")).expect("write images.rs");
}

fn assemble(dir: &Path, file: &str, bin: &Path) {
    assemble_at(dir, file, bin, None)
}

/// Assembles with `symorg` set to `origin` when one is given (SymbOS programs).
fn assemble_at(dir: &Path, file: &str, bin: &Path, origin: Option<u16>) {
    let mut cmd = Command::new("pasmo");
    cmd.current_dir(dir);
    if let Some(o) = origin {
        cmd.arg("--equ").arg(format!("symorg={o}"));
    }
    let result = cmd.arg(file).arg(bin).output();
    match result {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "pasmo could not assemble {}/{file}:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "pasmo is needed to assemble the Z80 programs ({e}); install the Debian package pasmo \
             (tools/prereqs.sh does this)"
        ),
    }
}
