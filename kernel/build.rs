//! Links the kernel with the project's one linker script (../linker.ld), and reads the
//! core limit that linker.ld (`MAX_CPUS = N;`, the stacks it reserves) and boot.S (the
//! `cmp x0, #N` marked `// MAX_CORES`, the spin-table search) hard-code, so the kernel
//! can assert at compile time that both equal `zbeam_sched::MAX_CORES`
//! (`board/irq.rs`).

/// The number in the first line of `text` that `find` picks out; fails the build
/// with a message naming `what` if there is none.
fn number(text: &str, what: &str, find: impl Fn(&str) -> Option<&str>) -> u64 {
    let found = text.lines().find_map(find);
    let n = found.and_then(|v| v.trim().parse().ok());
    n.unwrap_or_else(|| panic!("kernel/build.rs: cannot find the core limit in {what}"))
}

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = std::path::Path::new(&dir).join("../linker.ld");
    let boot = std::path::Path::new(&dir).join("../boot/boot.S");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-changed={dir}/../boot/boot.S");
    let ld = std::fs::read_to_string(&script).expect("kernel/build.rs: read linker.ld");
    let asm = std::fs::read_to_string(&boot).expect("kernel/build.rs: read boot/boot.S");
    let ld_cores = number(&ld, "linker.ld (MAX_CPUS = N;)", |l| {
        l.trim().strip_prefix("MAX_CPUS")?.trim().strip_prefix('=')?.split(';').next()
    });
    let asm_cores = number(&asm, "boot/boot.S (cmp x0, #N // MAX_CORES)", |l| {
        let (code, comment) = l.split_once("//")?;
        comment.contains("MAX_CORES").then_some(())?;
        code.split('#').nth(1)
    });
    println!("cargo:rustc-env=ZBEAM_LINKER_MAX_CORES={ld_cores}");
    println!("cargo:rustc-env=ZBEAM_BOOT_S_MAX_CORES={asm_cores}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
        println!("cargo:rustc-link-arg-bins=--pie");
        println!("cargo:rustc-link-arg-bins=--no-dynamic-linker");
        println!("cargo:rustc-link-arg-bins=-znorelro");
        println!("cargo:rustc-link-arg-bins=--hash-style=sysv");
    }
}
