//! Assembles the dispatcher's program suite, `programs/dispatch/*.asm`, with pasmo
//! into OUT_DIR and writes the table `suite::PROGRAMS` includes: name, class (from the
//! source's `; class: ` line), image and expected console output (`NAME.out`). Also
//! assembles the CP/M test programs `programs/cpm/*.asm` for `suite::CPM`.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = manifest.join("../../../programs/dispatch").canonicalize().expect("programs/dispatch beside the kernel");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed={}", dir.display());
    let names = sources(&dir);
    let mut table = String::from("&[\n");
    for name in &names {
        let bin = out.join(format!("{name}.com"));
        assemble(&dir, name, &bin);
        let src = std::fs::read_to_string(dir.join(format!("{name}.asm"))).expect("read the source");
        let class = src
            .lines()
            .find_map(|l| l.strip_prefix("; class: "))
            .unwrap_or_else(|| panic!("programs/dispatch/{name}.asm has no '; class: ' line"))
            .trim()
            .to_string();
        let expected = dir.join(format!("{name}.out"));
        table.push_str(&format!(
            "    Program {{ name: {name:?}, class: {class:?}, image: include_bytes!({bin:?}), expected: include_bytes!({expected:?}) }},\n",
            bin = bin.display().to_string(),
            expected = expected.display().to_string(),
        ));
    }
    table.push_str("]\n");
    std::fs::write(out.join("suite.rs"), table).expect("write suite.rs");

    // The CP/M test programs, as (image name, bytes) with the kernel's names `cpm-NAME`.
    let cpm = manifest.join("../../../programs/cpm").canonicalize().expect("programs/cpm beside the kernel");
    println!("cargo:rerun-if-changed={}", cpm.display());
    let names = sources(&cpm);
    let mut table = String::from("&[\n");
    for name in &names {
        let bin = out.join(format!("cpm-{name}.com"));
        assemble(&cpm, name, &bin);
        table.push_str(&format!("    (\"cpm-{name}\", include_bytes!({:?})),\n", bin.display().to_string()));
    }
    table.push_str("]\n");
    std::fs::write(out.join("cpm.rs"), table).expect("write cpm.rs");
}

/// The stems of the `.asm` files in `dir`, sorted (each watched for changes).
fn sources(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.extension().is_some_and(|x| x == "asm") {
            names.push(path.file_stem().expect("a file name").to_string_lossy().into_owned());
        }
    }
    names.sort();
    names
}

/// Assembles `dir/NAME.asm` into `bin` with pasmo.
fn assemble(dir: &std::path::Path, name: &str, bin: &std::path::Path) {
    let o = Command::new("pasmo").current_dir(dir).arg(format!("{name}.asm")).arg(bin).output();
    match o {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "pasmo could not assemble {}/{name}.asm:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("pasmo is needed to assemble {} ({e}); install the Debian package pasmo", dir.display()),
    }
}
