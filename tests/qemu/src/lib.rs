//! Boots the zbeam Image in QEMU for integration tests: machine options, a wall-clock
//! timeout on every run, the serial output captured, optional console input typed
//! after the kernel prints a prompt, and the exit status (qemu-exit codes).
//!
//! The Image comes from `ZBEAM_IMAGE` (the Makefile sets it to `target/zbeam.img`
//! after `make image`). A missing Image is a failure that says how to build it.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One QEMU run's machine options.
#[derive(Clone, Debug)]
pub struct Machine {
    /// Number of cores (`-smp`).
    pub smp: u32,
    /// GIC version (2 or 3).
    pub gic: u32,
    /// `virtualization=on`: the kernel is entered at EL2.
    pub el2: bool,
    /// `-cpu` model.
    pub cpu: &'static str,
    /// `-m`.
    pub mem: &'static str,
    /// A `-dtb` file.
    pub dtb: Option<PathBuf>,
    /// An `-initrd` file (a tar archive of programs, see [`initrd`]).
    pub initrd: Option<PathBuf>,
    /// Kernel command line (`-append`).
    pub append: String,
    /// Wall-clock limit for the run.
    pub timeout: Duration,
    /// Stop QEMU as soon as the output contains this (for runs that halt on purpose).
    pub until: Option<&'static str>,
    /// Run with `-icount shift=0,sleep=off`: guest time follows the instructions
    /// executed (1 ns each) and jumps over idle periods, so the load on the host
    /// cannot make the guest's timers look late. Used where the guest's own timing is
    /// what a test checks.
    pub icount: bool,
}

impl Default for Machine {
    fn default() -> Self {
        Machine {
            smp: 4,
            gic: 2,
            el2: false,
            cpu: "cortex-a72",
            mem: "256M",
            dtb: None,
            initrd: None,
            append: String::new(),
            timeout: Duration::from_secs(90),
            until: None,
            icount: false,
        }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// Exit code, or None if QEMU was killed (at the timeout, or once `until` showed).
    pub code: Option<i32>,
    /// Everything the serial console printed (CR removed).
    pub output: String,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl Outcome {
    /// Asserts that the output contains `needle`, showing the output otherwise.
    pub fn expect(&self, needle: &str) -> &Self {
        assert!(self.output.contains(needle), "expected {needle:?} in the output:\n{}", self.output);
        self
    }

    /// Asserts the exit code.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "exit code (None = timed out); output:\n{}", self.output);
        self
    }
}

/// The Image under test.
pub fn image() -> PathBuf {
    let path = std::env::var_os("ZBEAM_IMAGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/zbeam.img")));
    assert!(path.exists(), "kernel Image {} not found: run `make image` (or `make test`)", path.display());
    path
}

/// The script that builds every QEMU command line (`make qemu` uses it too).
pub fn qemu_run_script() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/qemu-run"))
}

/// The command that boots `m`: `tools/qemu-run` with the machine in its environment
/// (so the tests boot exactly the machine `make qemu` boots), the serial port on
/// stdio and `extra` QEMU arguments after the script's own.
pub fn qemu_command(m: &Machine, extra: &[&str]) -> Command {
    let mut cmd = Command::new(qemu_run_script());
    // Only what `m` says: nothing from the caller's environment.
    for var in ["SMP", "GIC", "EL2", "CPU", "MEM", "DTB", "APPEND", "INITRD", "ICOUNT", "TIMEOUT"] {
        cmd.env_remove(var);
    }
    cmd.env("SMP", m.smp.to_string())
        .env("GIC", m.gic.to_string())
        .env("EL2", if m.el2 { "1" } else { "0" })
        .env("CPU", m.cpu)
        .env("MEM", m.mem)
        .env("ICOUNT", if m.icount { "1" } else { "0" });
    if let Some(dtb) = &m.dtb {
        cmd.env("DTB", dtb);
    }
    if let Some(initrd) = &m.initrd {
        cmd.env("INITRD", initrd);
    }
    if !m.append.is_empty() {
        cmd.env("APPEND", &m.append);
    }
    cmd.arg(image()).args(extra);
    cmd
}

/// Boots and waits for QEMU to exit (or kills it at the timeout).
pub fn run(m: &Machine) -> Outcome {
    run_interactive(m, &[])
}

/// Boots; each time the output (after the previous step) contains `wait_for`, types
/// `input`. Then waits for exit or the timeout.
pub fn run_interactive(m: &Machine, script: &[(&str, &str)]) -> Outcome {
    let start = Instant::now();
    let mut child = qemu_command(m, &["-monitor", "none", "-serial", "stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tools/qemu-run must run (tools/prereqs.sh installs qemu-system-arm)");
    let out = Arc::new(Mutex::new(Vec::<u8>::new()));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let sink = Arc::clone(&out);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().expect("output lock").extend_from_slice(&buf[..n]);
        }
    });
    let mut stderr = child.stderr.take().expect("piped stderr");
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut stdin = child.stdin.take();
    let mut step = 0;
    let mut seen = 0;
    let code = loop {
        if let Some(status) = child.try_wait().expect("waiting for qemu") {
            break status.code();
        }
        let reached = m.until.is_some_and(|u| String::from_utf8_lossy(&out.lock().expect("output lock")).contains(u));
        if reached {
            // Let the rest of the line (and anything after it) arrive first.
            std::thread::sleep(Duration::from_millis(300));
        }
        if reached || start.elapsed() > m.timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        if step < script.len() {
            let text = String::from_utf8_lossy(&out.lock().expect("output lock")).into_owned();
            let (wait_for, input) = script[step];
            if let Some(pos) = text[seen..].find(wait_for) {
                seen += pos + wait_for.len();
                if let Some(w) = stdin.as_mut() {
                    // Type slowly, as a person would, so the UART FIFO never overflows.
                    for b in input.bytes() {
                        let _ = w.write_all(&[b]);
                        let _ = w.flush();
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
                step += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let _ = reader.join();
    let errors = err_thread.join().unwrap_or_default();
    let mut output = String::from_utf8_lossy(&out.lock().expect("output lock")).replace('\r', "");
    if !errors.is_empty() {
        output.push_str("\n[qemu stderr]\n");
        output.push_str(&errors);
    }
    Outcome { code, output, elapsed: start.elapsed() }
}

/// A variant of a shared device tree: decompiled with `dtc`, edited by `edit`, and
/// compiled again into a temporary file. `None` (outside CI) when the data is missing.
pub fn edited_dtb(rel: &str, name: &str, edit: impl FnOnce(String) -> String) -> Option<PathBuf> {
    let src = zbeam_testdata::require(rel)?;
    let dts = Command::new("dtc")
        .args(["-q", "-I", "dtb", "-O", "dts"])
        .arg(&src)
        .output()
        .expect("dtc must be installed (tools/prereqs.sh installs device-tree-compiler)");
    assert!(dts.status.success(), "dtc could not decompile {}", src.display());
    let edited = edit(String::from_utf8(dts.stdout).expect("dts is text"));
    let dir = std::env::temp_dir().join(format!("zbeam-qemu-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let dts_path = dir.join(format!("{name}.dts"));
    let dtb_path = dir.join(format!("{name}.dtb"));
    std::fs::write(&dts_path, edited).expect("write dts");
    let st = Command::new("dtc")
        .args(["-q", "-I", "dts", "-O", "dtb", "-o"])
        .arg(&dtb_path)
        .arg(&dts_path)
        .status()
        .expect("dtc");
    assert!(st.success(), "dtc could not compile {}", dts_path.display());
    Some(dtb_path)
}

/// A temporary directory of this test process.
fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zbeam-qemu-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// An initrd built by `tools/mkinitrd.sh` from `files` (name, bytes), written as
/// `NAME.tar` in a temporary directory. Panics if the script refuses the files.
pub fn initrd(name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = temp_dir().join(format!("{name}.d"));
    std::fs::create_dir_all(&dir).expect("initrd staging dir");
    let mut paths = Vec::new();
    for (file, bytes) in files {
        let p = dir.join(file);
        std::fs::write(&p, bytes).expect("write initrd file");
        paths.push(p);
    }
    let out = temp_dir().join(format!("{name}.tar"));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/mkinitrd.sh");
    let st = Command::new(script).arg(&out).args(&paths).status().expect("tools/mkinitrd.sh runs");
    assert!(st.success(), "tools/mkinitrd.sh refused {files:?}", files = files.iter().map(|f| f.0).collect::<Vec<_>>());
    out
}

/// A file of raw bytes to pass as an initrd (for archives the script would refuse).
pub fn raw_initrd(name: &str, bytes: &[u8]) -> PathBuf {
    let out = temp_dir().join(format!("{name}.raw"));
    std::fs::write(&out, bytes).expect("write raw initrd");
    out
}

/// A ustar archive of `files` made by `tar` itself, with none of `tools/mkinitrd.sh`'s
/// checks (for the archives the kernel must refuse file by file).
pub fn tar_initrd(name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = temp_dir().join(format!("{name}.d"));
    std::fs::create_dir_all(&dir).expect("initrd staging dir");
    for (file, bytes) in files {
        std::fs::write(dir.join(file), bytes).expect("write initrd file");
    }
    let out = temp_dir().join(format!("{name}.tar"));
    let st = Command::new("tar")
        .args(["--format=ustar", "-cf"])
        .arg(&out)
        .arg("-C")
        .arg(&dir)
        .args(files.iter().map(|f| f.0))
        .status()
        .expect("tar must be installed");
    assert!(st.success(), "tar failed");
    out
}

/// What QEMU itself reports about a machine: the monitor's `info network`, `info qtree`
/// and `info roms`, asked over QMP while the machine is stopped before its first
/// instruction (`-S`).
#[derive(Debug)]
pub struct MachineReport {
    /// `info network`.
    pub network: String,
    /// `info qtree`.
    pub qtree: String,
    /// `info roms`.
    pub roms: String,
}

/// Starts `m` exactly as [`run`] would, plus `extra` arguments, stopped (`-S`), and asks
/// QEMU's monitor over QMP what the machine holds. Panics if QEMU does not start (for
/// example because a ROM file it wants is missing: QEMU's own message is shown).
pub fn machine_report(m: &Machine, extra: &[&str]) -> MachineReport {
    use std::io::BufRead;
    let mut args = vec!["-S", "-monitor", "none", "-serial", "none", "-qmp", "stdio"];
    args.extend_from_slice(extra);
    let mut child = qemu_command(m, &args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tools/qemu-run must run (tools/prereqs.sh installs qemu-system-arm)");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    // A watchdog: QMP answers at once, so 60 s means QEMU is stuck.
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
    });
    let mut requests = vec![r#"{"execute":"qmp_capabilities"}"#.to_string()];
    for c in ["info network", "info qtree", "info roms"] {
        requests.push(format!(r#"{{"execute":"human-monitor-command","arguments":{{"command-line":"{c}"}}}}"#));
    }
    requests.push(r#"{"execute":"quit"}"#.into());
    for r in &requests {
        let _ = writeln!(stdin, "{r}");
    }
    let _ = stdin.flush();
    let mut answers = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        // Text answers are `{"return": "..."}`; events and `{}` returns are skipped.
        if let Some(rest) = line.trim().strip_prefix(r#"{"return": ""#) {
            let body = rest.rsplit_once('"').map_or("", |(b, _)| b);
            answers.push(json_unescape(body));
        } else if line.contains(r#""return": {}"#) && answers.len() == 3 {
            break; // the quit's answer
        }
    }
    drop(stdin);
    let _ = child.wait();
    drop(watchdog); // detached; it only kills a pid that has already exited
    let mut errors = String::new();
    let _ = stderr.read_to_string(&mut errors);
    assert!(answers.len() >= 3, "QEMU did not answer its monitor (answers {answers:?}); stderr:\n{errors}");
    let mut it = answers.into_iter();
    let network = it.next().unwrap_or_default();
    let qtree = it.next().unwrap_or_default();
    let roms = it.next().unwrap_or_default();
    MachineReport { network, qtree, roms }
}

fn json_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

impl MachineReport {
    /// Everything in the machine that is a network device or would be loaded from a
    /// ROM or firmware file QEMU has to find on disk; empty when there is none.
    /// `allowed` are the files the run passes itself (kernel, device tree, initrd).
    pub fn file_dependencies(&self, allowed: &[String]) -> Vec<String> {
        let mut found = Vec::new();
        if !self.network.trim().is_empty() {
            found.push(format!("a network device or backend (info network: {})", self.network.trim()));
        }
        for line in self.qtree.lines().map(str::trim) {
            if let Some(v) = line.strip_prefix("romfile = ") {
                if v != "\"\"" {
                    found.push(format!("a device with an option ROM file ({line})"));
                }
            }
            if line.starts_with("dev: ") && ["net", "e1000", "rtl8139", "ne2k"].iter().any(|n| line.contains(n)) {
                found.push(format!("a network device ({line})"));
            }
            if line.starts_with("mac = ") || line.starts_with("netdev = ") {
                found.push(format!("a network device property ({line})"));
            }
        }
        for line in self.roms.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let Some(name) = line.split("name=\"").nth(1).and_then(|n| n.strip_suffix('"')) else {
                found.push(format!("a ROM QEMU could not name ({line})"));
                continue;
            };
            // QEMU-generated blobs: the boot trampoline, the device tree it built,
            // and fw_cfg's in-memory ACPI tables.
            let generated = name == "bootloader" || name == "dtb" || name.starts_with("etc/");
            if !generated && !allowed.iter().any(|a| a == name) {
                found.push(format!("a ROM or firmware file ({line})"));
            }
        }
        found
    }
}
