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

fn qemu_args(m: &Machine) -> Vec<String> {
    let mut machine = String::from("virt");
    if m.gic == 3 {
        machine.push_str(",gic-version=3");
    }
    if m.el2 {
        machine.push_str(",virtualization=on");
    }
    let mut args: Vec<String> = [
        "-machine",
        &machine,
        "-cpu",
        m.cpu,
        "-smp",
        &m.smp.to_string(),
        "-m",
        m.mem,
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "stdio",
        "-semihosting",
        "-kernel",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(image().display().to_string());
    if m.icount {
        args.push("-icount".into());
        args.push("shift=0,sleep=off".into());
    }
    if let Some(dtb) = &m.dtb {
        args.push("-dtb".into());
        args.push(dtb.display().to_string());
    }
    if let Some(initrd) = &m.initrd {
        args.push("-initrd".into());
        args.push(initrd.display().to_string());
    }
    if !m.append.is_empty() {
        args.push("-append".into());
        args.push(m.append.clone());
    }
    args
}

/// Boots and waits for QEMU to exit (or kills it at the timeout).
pub fn run(m: &Machine) -> Outcome {
    run_interactive(m, &[])
}

/// Boots; each time the output (after the previous step) contains `wait_for`, types
/// `input`. Then waits for exit or the timeout.
pub fn run_interactive(m: &Machine, script: &[(&str, &str)]) -> Outcome {
    let start = Instant::now();
    let mut child = Command::new("qemu-system-aarch64")
        .args(qemu_args(m))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qemu-system-aarch64 must be installed (tools/prereqs.sh installs qemu-system-arm)");
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
