//! `z80run --symbos FILE [--put PATH]... [--keep DIR] [--max-instructions N] [ARGS...]`:
//! one SymbOS program on the host.
//!
//! What: loads FILE with `zbeam_symbos::machine::Machine` (command line
//! `A:\NAME.EXE ARGS %spPPXXYYVV`), its files on a fresh in-memory CP/M disk holding
//! each `--put` file under its base name, and runs it. Its SymShell console is this
//! process: output goes to stdout untranslated and flushed, keys come from stdin (a
//! thread reads it; the end of stdin is SymShell's EOF), so a run can be scripted.
//! `--keep DIR` writes the disk's files to DIR afterwards. Options come before FILE;
//! everything after FILE is the program's arguments.
//!
//! Exit status: 0 when the program ends itself, 1 when the personality stops it (the
//! reason on stderr) or it runs out of instructions, 2 for usage or file errors.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};
use zbeam_symbos::machine::{Machine, Stop};
use zbeam_symbos::session::Exit;
use zbeam_symbos::{Console, Key};

struct Options {
    file: String,
    put: Vec<String>,
    keep: Option<String>,
    max_instructions: u64,
    args: Vec<String>,
}

fn parse(argv: Vec<String>) -> Result<Options, String> {
    let mut it = argv.into_iter();
    let mut o =
        Options { file: String::new(), put: Vec::new(), keep: None, max_instructions: u64::MAX, args: Vec::new() };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--put" => o.put.push(it.next().ok_or("--put needs a file")?),
            "--keep" => o.keep = Some(it.next().ok_or("--keep needs a folder")?),
            "--max-instructions" => {
                let n = it.next().ok_or("--max-instructions needs a number")?;
                o.max_instructions = n.replace('_', "").parse().map_err(|_| format!("not a number: {n:?}"))?;
            }
            _ if a.starts_with("--") => return Err(format!("unknown option {a:?}\n{}", super::USAGE)),
            _ => {
                o.file = a;
                o.args = it.collect();
                return Ok(o);
            }
        }
    }
    Err(super::USAGE.to_string())
}

/// stdin through a thread: what is there now, or the end.
struct Stdio {
    keys: Receiver<u8>,
    ahead: VecDeque<Key>,
    start: Instant,
}

impl Stdio {
    fn new() -> Stdio {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut b = [0u8; 1];
            while let Ok(1) = stdin.read(&mut b) {
                if tx.send(b[0]).is_err() {
                    break;
                }
            }
        });
        Stdio { keys: rx, ahead: VecDeque::new(), start: Instant::now() }
    }

    /// Waits until a key (or the end of input) is there.
    fn wait(&mut self) {
        if self.ahead.is_empty() {
            match self.keys.recv_timeout(Duration::from_secs(3600)) {
                Ok(b) => self.ahead.push_back(Key::Byte(b)),
                Err(RecvTimeoutError::Disconnected) => self.ahead.push_back(Key::Eof),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

impl Console for Stdio {
    fn write(&mut self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes).and_then(|()| out.flush());
    }
    fn read(&mut self) -> Key {
        if let Some(k) = self.ahead.pop_front() {
            if k == Key::Eof {
                self.ahead.push_back(Key::Eof);
            }
            return k;
        }
        match self.keys.try_recv() {
            Ok(b) => Key::Byte(b),
            Err(TryRecvError::Empty) => Key::Empty,
            Err(TryRecvError::Disconnected) => {
                self.ahead.push_back(Key::Eof);
                Key::Eof
            }
        }
    }
    fn ticks(&mut self) -> u32 {
        (self.start.elapsed().as_millis() / 10) as u32
    }
}

pub fn main(argv: Vec<String>) -> ExitCode {
    let o = match parse(argv) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let file = match std::fs::read(&o.file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("z80run: cannot read {}: {e}", o.file);
            return ExitCode::from(2);
        }
    };
    let disk = zbeam_cpm::Disk::new().into_shared();
    for p in &o.put {
        let name = std::path::Path::new(p).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let put = std::fs::read(p)
            .map_err(|e| e.to_string())
            .and_then(|b| disk.lock().put(&name, &b).map_err(|e| format!("{e:?}")));
        if let Err(e) = put {
            eprintln!("z80run: --put {p}: {e}");
            return ExitCode::from(2);
        }
    }
    let base =
        std::path::Path::new(&o.file).file_name().map(|n| n.to_string_lossy().to_uppercase()).unwrap_or_default();
    let mut m = match Machine::new(&file, &format!("A:\\{base}"), &o.args.join(" "), disk.clone()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("z80run: {}: {e}", o.file);
            return ExitCode::from(2);
        }
    };
    let mut con = Stdio::new();
    let stop = loop {
        let left = o.max_instructions - m.instructions;
        match m.run(left.min(10_000_000), &mut con) {
            Stop::Input => con.wait(),
            Stop::Budget if m.instructions < o.max_instructions => {}
            stop => break stop,
        }
    };
    if let Some(dir) = &o.keep {
        for name in disk.lock().names() {
            if let Some(bytes) = disk.lock().get(&name) {
                if let Err(e) = std::fs::write(std::path::Path::new(dir).join(&name), bytes) {
                    eprintln!("z80run: --keep {dir}/{name}: {e}");
                }
            }
        }
    }
    match stop {
        Stop::Exited(Exit::Normal) => ExitCode::SUCCESS,
        Stop::Exited(Exit::Fault(f)) => {
            eprintln!("z80run: {}: stopped: {f}", o.file);
            ExitCode::FAILURE
        }
        _ => {
            eprintln!("z80run: {}: instruction limit reached after {} instructions", o.file, m.instructions);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let o = parse(v(&["--put", "a.txt", "--keep", "out", "prog.exe", "x", "--put"])).unwrap();
        assert_eq!((o.file.as_str(), o.put, o.keep.as_deref()), ("prog.exe", vec!["a.txt".to_string()], Some("out")));
        assert_eq!(o.args, ["x", "--put"]);
        assert!(parse(v(&[])).is_err());
        assert!(parse(v(&["--bogus", "p"])).is_err());
        assert!(parse(v(&["--put"])).is_err());
    }
}
