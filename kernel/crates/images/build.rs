//! Assembles every `programs/*.asm` with pasmo (Debian package `pasmo`) into OUT_DIR
//! and writes the image table, sorted by name so image numbers are stable.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let programs = manifest.join("../../../programs").canonicalize().expect("programs/ beside the kernel");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed={}", programs.display());
    let mut names: Vec<String> = std::fs::read_dir(&programs)
        .expect("read programs/")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "asm"))
        .map(|p| {
            println!("cargo:rerun-if-changed={}", p.display());
            p.file_stem().expect("a file name").to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    for inc in std::fs::read_dir(&programs).expect("read programs/").filter_map(|e| e.ok()) {
        println!("cargo:rerun-if-changed={}", inc.path().display());
    }
    let mut table = String::from("/// The built-in images, sorted by name.\npub static IMAGES: &[Image] = &[\n");
    let mut consts = String::new();
    for (i, name) in names.iter().enumerate() {
        let bin = out.join(format!("{name}.bin"));
        assemble(&programs, &format!("{name}.asm"), &bin);
        table.push_str(&format!(
            "    Image {{ name: {name:?}, bytes: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.bin\")) }},\n"
        ));
        consts.push_str(&format!("/// Image number of `{name}`.\npub const {}: usize = {i};\n", name.to_uppercase()));
    }
    table.push_str("];\n");
    std::fs::write(out.join("images.rs"), format!("{table}\n{consts}")).expect("write images.rs");
}

fn assemble(dir: &Path, file: &str, bin: &Path) {
    let result = Command::new("pasmo").current_dir(dir).arg(file).arg(bin).output();
    match result {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "pasmo could not assemble programs/{file}:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "pasmo is needed to assemble the Z80 programs ({e}); install the Debian package pasmo \
             (tools/prereqs.sh does this)"
        ),
    }
}
