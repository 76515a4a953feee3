//! Assembles the dispatcher's program suite, `programs/dispatch/*.asm`, with pasmo
//! into OUT_DIR and writes the table `suite::PROGRAMS` includes: name, class (from the
//! source's `; class: ` line), image and expected console output (`NAME.out`).
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = manifest.join("../../../programs/dispatch").canonicalize().expect("programs/dispatch beside the kernel");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("read programs/dispatch") {
        let path = entry.expect("a directory entry").path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.extension().is_some_and(|x| x == "asm") {
            names.push(path.file_stem().expect("a file name").to_string_lossy().into_owned());
        }
    }
    names.sort();
    let mut table = String::from("&[\n");
    for name in &names {
        let bin = out.join(format!("{name}.com"));
        let o = Command::new("pasmo").current_dir(&dir).arg(format!("{name}.asm")).arg(&bin).output();
        match o {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "pasmo could not assemble programs/dispatch/{name}.asm:\n{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!("pasmo is needed to assemble programs/dispatch ({e}); install the Debian package pasmo"),
        }
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
}
