//! The initial RAM disk: Z80 program images a boot loader placed in RAM.
//!
//! QEMU's `-initrd FILE` loads a tar archive into RAM and names it in `/chosen`
//! (`linux,initrd-start`/`-end`, read by `zbeam-devtree`). At boot [`check`] makes
//! sure the range lies wholly in RAM the kernel maps Normal and overlaps neither the
//! kernel image nor the device tree; bring-up then keeps it out of the heap, so it
//! stays untouched and mapped for as long as the kernel runs. Once the heap is up,
//! [`load`] reads the archive with `zbeam-initrd` (every header and file checked; the
//! rules are in that crate) and builds the engine's image table: the built-in images
//! first, then the archive's, whose bytes point into the reserved memory.
//!
//! Whatever is wrong (a bad `/chosen` pair, a range outside RAM, a corrupt archive, a
//! file that is no program) gets one line in the banner and harms nothing else: the
//! kernel boots with the built-in images and whatever files passed.

use crate::arch::mmu;
use crate::memory::Ranges;
use crate::println;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use zbeam_engine::{abi, Image};
use zbeam_initrd::{Limits, Verdict};

/// Largest initrd accepted (far more than 64 programs of 64 KiB).
pub const MAX_BYTES: u64 = 64 << 20;
/// Most images taken from one initrd.
pub const MAX_IMAGES: usize = 64;

/// A checked initrd: [start, end) in RAM, reserved by bring-up.
#[derive(Clone, Copy, Debug)]
pub struct Found {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// Why the initrd named by the device tree is not used.
#[derive(Clone, Copy, Debug)]
pub enum Unusable {
    /// `/chosen` names it in a malformed way.
    DeviceTree(zbeam_devtree::Error),
    /// Zero bytes.
    Empty,
    /// Larger than [`MAX_BYTES`].
    TooLarge(u64),
    /// Not wholly inside RAM the kernel maps.
    NotInRam,
    /// Overlaps the kernel image or the device tree.
    Overlaps(&'static str),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::DeviceTree(e) => write!(f, "{e}"),
            Unusable::Empty => f.write_str("it is empty"),
            Unusable::TooLarge(n) => write!(f, "{n} bytes, more than the {} MiB allowed", MAX_BYTES >> 20),
            Unusable::NotInRam => f.write_str("it is not wholly inside RAM"),
            Unusable::Overlaps(what) => write!(f, "it overlaps the {what}"),
        }
    }
}

/// Finds the initrd the device tree names and checks where it lies: inside one range
/// of `ram` (mapped Normal by the kernel tables), clear of `taken` (name, range) pairs.
/// `Ok(None)`: there is none.
pub fn check(
    platform: &zbeam_devtree::Platform,
    ram: &Ranges,
    taken: &[(&'static str, (u64, u64))],
) -> Result<Option<Found>, Unusable> {
    if let Some(e) = platform.initrd_error() {
        return Err(Unusable::DeviceTree(e));
    }
    let Some(r) = platform.initrd else { return Ok(None) };
    if r.size == 0 {
        return Err(Unusable::Empty);
    }
    if r.size > MAX_BYTES {
        return Err(Unusable::TooLarge(r.size));
    }
    let (start, end) = (r.base.0, r.end().ok_or(Unusable::NotInRam)?);
    if !ram.iter().any(|(s, e)| s <= start && end <= e) || !mmu::is_normal_ram(start) || !mmu::is_normal_ram(end - 1) {
        return Err(Unusable::NotInRam);
    }
    for &(what, (s, e)) in taken {
        if start < e && s < end {
            return Err(Unusable::Overlaps(what));
        }
    }
    Ok(Some(Found { start, end }))
}

static TABLE: spin::Once<&'static [Image]> = spin::Once::new();

/// The engine's image table: the built-in images, then the initrd's ([`load`]).
pub fn images() -> &'static [Image] {
    TABLE.get().copied().unwrap_or(zbeam_images::IMAGES)
}

/// Why a file with a SymbOS header would not load (None: it loads), found by
/// loading it into scratch memory as a spawn will.
fn symbos_refusal(bytes: &[u8]) -> Option<String> {
    let mut scratch = alloc::vec![0u8; 0x1_0000];
    let mem: &mut [u8; 0x1_0000] = scratch.as_mut_slice().try_into().ok()?;
    zbeam_symbos::exe::load(bytes, mem, zbeam_symbos::APP_ID, zbeam_symbos::pid::APP)
        .err()
        .map(|e| alloc::format!("{e}"))
}

/// Reads the archive in `found` (checked and reserved by bring-up) into the image
/// table, printing one banner line for what loaded and one per file refused.
pub fn load(found: Found) {
    let len = (found.end - found.start) as usize;
    // SAFETY: `check` proved [start, end) lies in RAM that the kernel tables map
    // Normal; bring-up subtracted it from the heap and nothing else writes it, so it
    // is immutable for the rest of the kernel's life.
    let archive: &'static [u8] = unsafe { core::slice::from_raw_parts(found.start as *const u8, len) };
    let limits = Limits { max_bytes: abi::MAX_IMAGE, max_images: MAX_IMAGES };
    let builtin = zbeam_images::IMAGES;
    let verdicts = match zbeam_initrd::read(archive, limits, |n| builtin.iter().any(|i| i.name == n)) {
        Ok(v) => v,
        Err(e) => {
            println!(
                "  initrd      rejected {:#x}..{:#x}: {e}; booting with the built-in images",
                found.start, found.end
            );
            return;
        }
    };
    let mut table: Vec<Image> = builtin.to_vec();
    let mut listed = String::new();
    for v in &verdicts {
        match v {
            Verdict::Loaded(p) if zbeam_symbos::exe::is_symbos(p.bytes) && symbos_refusal(p.bytes).is_some() => {
                let why = symbos_refusal(p.bytes).unwrap_or_default();
                println!("  initrd      rejected {}: SymbOS executable: {why}", p.name);
            }
            Verdict::Loaded(p) => {
                let name: &'static str = String::leak(p.name.clone());
                table.push(Image { name, bytes: p.bytes });
                if !listed.is_empty() {
                    listed.push_str(", ");
                }
                let _ = fmt::Write::write_fmt(&mut listed, format_args!("{name} ({} bytes)", p.bytes.len()));
            }
            Verdict::Rejected { file, why } => println!("  initrd      rejected {file}: {why}"),
        }
    }
    let n = table.len() - builtin.len();
    println!(
        "  initrd      {n} image{} from {:#x}..{:#x} ({len} bytes){}{listed}",
        if n == 1 { "" } else { "s" },
        found.start,
        found.end,
        if n > 0 { ": " } else { "" }
    );
    TABLE.call_once(|| table.leak());
}
