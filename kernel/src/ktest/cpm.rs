//! In-kernel test of CP/M 2.2 programs as Z80 processes, selected by `test=cpm`.
//!
//! The kernel puts a text file on a CP/M disk in memory (`zbeam_cpm::Disk`, CP/M 2.2
//! directory and allocation blocks) and shares it with every CP/M process; then a
//! native driver (max priority, core 0) runs three unmodified CP/M programs from
//! `programs/cpm/` one after the other on any core: `cpm-copy HELLO.TXT COPY.TXT`
//! (sequential read and write across extents), `cpm-dir` (search first/next) and
//! `cpm-random` (random read and write, file size, unwritten records). Their console
//! output is the evidence the host test checks; the driver then reads the files back
//! from the disk, compares the copy with the original, and ends QEMU with 0 (pass) or
//! 7 (fail).

use crate::panic::finish;
use crate::println;
use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;
use zbeam_engine::cpm::{Disk, SharedDisk};
use zbeam_engine::{Exit, NativeCx, NativeStep, NativeTask, Pid};
use zbeam_sched::{CpuSet, Priority};

/// The programs run, in order, with their command tails.
const STEPS: [(&str, &str); 3] = [("cpm-copy", "HELLO.TXT COPY.TXT"), ("cpm-dir", ""), ("cpm-random", "")];

/// Starts the runtime with the CP/M driver.
pub fn main() -> ! {
    let e = crate::runtime::start();
    let mut disk = Disk::new();
    let text = source_text();
    if let Err(err) = disk.put("HELLO.TXT", &text) {
        println!("test cpm: cannot put HELLO.TXT on the disk: {err:?}");
        finish(7);
    }
    println!("test cpm: HELLO.TXT on the disk, {} bytes", text.len());
    let disk = disk.into_shared();
    e.set_cpm_disk(Some(disk.clone()));
    let driver = Box::new(Driver { disk, step: 0, pid: None, ok: true });
    super::driver::drive(e, "cpm", driver)
}

/// 20,000 bytes of numbered lines: 157 records over two extents.
fn source_text() -> Vec<u8> {
    let mut v = Vec::new();
    let mut n = 0;
    while v.len() < 20_000 {
        v.extend_from_slice(format!("CP/M line {n:04} in zbeam\r\n").as_bytes());
        n += 1;
    }
    v.truncate(20_000);
    v
}

struct Driver {
    disk: SharedDisk,
    step: usize,
    /// The program running now.
    pid: Option<Pid>,
    ok: bool,
}

impl NativeTask for Driver {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let e = crate::runtime::engine().expect("the engine runs its tasks");
        let later = NativeStep::Wait { until: Some(cx.now_ms() + 5) };
        if let Some(pid) = self.pid {
            if e.is_live(pid) {
                return later;
            }
            let exit = e.last_exit(pid);
            println!("test cpm: {} exited: {exit:?}", STEPS[self.step].0);
            self.ok &= exit == Some(Exit::Normal);
            self.pid = None;
            self.step += 1;
        }
        if let Some(&(name, tail)) = STEPS.get(self.step) {
            let Some(image) = e.image_index(name) else {
                println!("test cpm: no image {name}");
                finish(7);
            };
            match cx.spawn(image, tail.as_bytes(), Priority::Normal, CpuSet::ALL) {
                Ok(pid) => self.pid = Some(pid),
                Err(err) => {
                    println!("test cpm: cannot spawn {name}: {err:?}");
                    finish(7);
                }
            }
            return later;
        }
        let disk = self.disk.lock();
        let (src, copy) = (disk.get("HELLO.TXT"), disk.get("COPY.TXT"));
        let same = src.is_some() && src == copy;
        let records = copy.as_ref().map_or(0, |c| c.len() / 128);
        println!("test cpm: COPY.TXT {} HELLO.TXT ({records} records)", if same { "matches" } else { "DIFFERS FROM" });
        let random = disk.get("RANDOM.DAT").map_or(0, |r| r.len() / 128);
        println!("test cpm: RANDOM.DAT holds {random} records");
        println!("test cpm: files on the disk: {}", disk.names().join(" "));
        let ok = self.ok && same && random == 1001;
        super::driver::verdict("cpm", ok)
    }

    fn name(&self) -> &'static str {
        "cpm-test"
    }
}
