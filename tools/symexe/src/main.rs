//! `symexe`: builds a SymbOS executable from Z80 assembly and checks executables.
//!
//! * `symexe build FILE.asm OUT [--origin N]`: assembles FILE.asm with pasmo twice,
//!   with `symorg` set to the origin (default 0x1000) and to the origin + 0x100, and
//!   writes OUT: the first assembly with its header's origin and relocation count
//!   filled in and the relocation table (the words whose high byte moved) appended.
//!   The source starts with the 256-byte SymbOS header at `org symorg` and writes the
//!   code, data and transfer lengths into its first three words (see
//!   programs/symbos/head.inc).
//! * `symexe link LOW HIGH ORIGIN OUT`: the same from two binaries already assembled
//!   at ORIGIN and ORIGIN + 0x100.
//! * `symexe info FILE`: loads FILE as zbeam's loader does and prints its header and
//!   where the areas go, or the reason it is refused.
//!
//! Exit status: 0 done, 1 the input is refused (reason on stderr), 2 usage.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::{Command, ExitCode};
use zbeam_symbos::{exe, link};

const USAGE: &str =
    "usage: symexe build FILE.asm OUT [--origin N] | symexe link LOW HIGH ORIGIN OUT | symexe info FILE";

fn number(s: &str) -> Result<u16, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u16::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("not a 16-bit number: {s:?}"))
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

fn assemble(source: &Path, origin: u16, out: &Path) -> Result<Vec<u8>, String> {
    let dir = source.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = source.file_name().ok_or("no file name")?;
    let o = Command::new("pasmo")
        .current_dir(dir)
        .arg("--equ")
        .arg(format!("symorg={origin}"))
        .arg(name)
        .arg(out)
        .output()
        .map_err(|e| format!("cannot run pasmo ({e}); install the Debian package pasmo"))?;
    if !o.status.success() {
        return Err(format!(
            "pasmo failed on {}:\n{}{}",
            source.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    read(&out.to_string_lossy())
}

fn build(source: &str, out: &str, origin: u16) -> Result<(), String> {
    let tmp = std::env::temp_dir().join(format!("symexe-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let low = assemble(Path::new(source), origin, &tmp.join("low.bin"));
    let high = assemble(Path::new(source), origin.wrapping_add(link::ORIGIN_STEP), &tmp.join("high.bin"));
    let _ = std::fs::remove_dir_all(&tmp);
    write(&link::link(&low?, &high?, origin)?, out)
}

fn write(file: &[u8], out: &str) -> Result<(), String> {
    exe::header(file).map_err(|e| format!("the result does not load: {e}"))?;
    std::fs::write(out, file).map_err(|e| format!("cannot write {out}: {e}"))
}

fn info(path: &str) -> Result<String, String> {
    let file = read(path)?;
    let mut mem = Box::new([0u8; 0x1_0000]);
    let l =
        exe::load(&file, &mut mem, zbeam_symbos::APP_ID, zbeam_symbos::pid::APP).map_err(|e| format!("{path}: {e}"))?;
    let h = &l.header;
    Ok(format!(
        "name       {:?}\norigin     {:#06x}\ncode       {} bytes (+{} extra) at {:#06x}\ndata       {} bytes (+{} extra) at {:#06x}\n\
         transfer   {} bytes (+{} extra) at {:#06x}\nrelocated  {} words{}\nstack      {:#06x}, start {:#06x}\ncommand    {:#06x}\n",
        h.name,
        h.origin,
        h.len[0],
        h.extra[0],
        l.addr[0],
        h.len[1],
        h.extra[1],
        l.addr[1],
        h.len[2],
        h.extra[2],
        l.addr[2],
        l.relocations,
        if h.packed { " (packed table)" } else { "" },
        l.stack,
        l.start,
        l.command_line
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match a.as_slice() {
        ["build", src, out] => build(src, out, 0x1000),
        ["build", src, out, "--origin", n] => number(n).and_then(|o| build(src, out, o)),
        ["link", low, high, origin, out] => number(origin)
            .and_then(|o| Ok((o, read(low)?, read(high)?)))
            .and_then(|(o, l, h)| write(&link::link(&l, &h, o)?, out)),
        ["info", file] => info(file).map(|s| print!("{s}")),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("symexe: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number("0x1000"), Ok(0x1000));
        assert_eq!(number("4096"), Ok(4096));
        assert!(number("0x10000").is_err());
        assert!(number("x").is_err());
    }

    #[test]
    fn builds_and_describes_a_program() {
        let dir = std::env::temp_dir().join(format!("symexe-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("hello.exe");
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/../../programs/symbos/hello.asm");
        build(src, out.to_str().unwrap(), 0x2000).unwrap();
        let text = info(out.to_str().unwrap()).unwrap();
        assert!(text.contains("name       \"Hello\"") && text.contains("origin     0x2000"), "{text}");
        // The same program built at another origin loads to the same memory.
        let out2 = dir.join("hello2.exe");
        build(src, out2.to_str().unwrap(), 0x1000).unwrap();
        let load = |p: &Path| {
            let mut m = Box::new([0u8; 0x1_0000]);
            exe::load(&read(&p.to_string_lossy()).unwrap(), &mut m, 2, 16).unwrap();
            m
        };
        assert!(load(&out)[..] == load(&out2)[..]);
        std::fs::write(dir.join("bad.exe"), b"not a program").unwrap();
        assert!(info(dir.join("bad.exe").to_str().unwrap()).unwrap_err().contains("shorter than the 256-byte header"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
