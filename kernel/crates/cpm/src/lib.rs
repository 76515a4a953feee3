//! zbeam-cpm: enough CP/M 2.2 that unmodified CP/M `.COM` programs run as zbeam Z80
//! processes: the BDOS console and file functions 0..40, a minimal BIOS jump table,
//! and an in-memory disk.
//!
//! What: [`Bdos`] performs a BDOS call (`CALL 5` with the function in C, CP/M 2.2
//! Interface Guide section 3 "Basic I/O Facilities" and section 4 "Disk I/O
//! Facilities") or a BIOS call (Alteration Guide section 6 "BIOS entry points") on a
//! [`Regs`] copy of the caller's registers and its 64 KiB of memory, with the console
//! behind the [`ConsoleIo`] trait the host provides. Files live on a [`Disk`] of the
//! process's own, or on a [`SharedDisk`] several processes and the kernel use.
//! [`setup`] lays out page zero and the top page as a CP/M system does.
//!
//! Why: the engine traps the program counter at 0x0005 (BDOS) and at
//! [`BIOS_TRAPS`]..=0xFFFF (the BIOS entry points), hands the call here and, on
//! [`Outcome::Done`], returns to the caller as a `RET` would. Nothing here knows the
//! scheduler: a call that needs console input answers [`Outcome::WaitForInput`]
//! without side effects that a retry would repeat, so the engine parks the process
//! and calls again later with the same registers.
//!
//! Memory map (CP/M 2.2 Interface Guide section 2, "Operating System Call
//! Conventions"):
//!
//! ```text
//! 0000  JP BIOS+3 (warm boot; the engine traps 0000 itself: the process exits)
//! 0003  IOBYTE            0004  current drive and user (0)
//! 0005  JP FE00 (BDOS; trapped here, so FE00 is also the top of the TPA)
//! 005C  default FCB 1, 006C default FCB 2, parsed from the command tail
//! 0080  command tail (length byte, then the text) and the default DMA buffer
//! 0100  the program (TPA) .. FDFF, the stack below FE00
//! FE00  JP 0005, for programs that call the address stored at 0006
//! FE80  allocation vector (BDOS 27)
//! FF00  BIOS jump table: 17 x JP FFE0+n       FF40 DPB, FF50 DPH, FF60 directory buffer
//! FFE0  the BIOS entry points, trapped (0xC9 RET in memory)
//! ```
//!
//! Deviations from CP/M 2.2, all documented where they are made: one drive (A:);
//! user numbers 0..15 work but the kernel's [`Disk::put`]/[`Disk::get`] see user 0;
//! writes reach the disk at once (close only checks the file); DEL edits like
//! backspace in line input; no ^S/^Q/^P console control; BIOS sector READ/WRITE report
//! errors (the disk has files, not sectors); functions above 40 return 0 as 2.2 does.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod bdos;
pub mod disk;
pub mod fcb;

pub use bdos::Bdos;
pub use disk::{Disk, DiskError, Geometry, SharedDisk};

/// A process's memory.
pub type Memory = [u8; 0x1_0000];

/// The BDOS entry the engine traps.
pub const BDOS: u16 = 0x0005;
/// The BDOS base stored at 0x0006: the top of the TPA.
pub const BDOS_ENTRY: u16 = 0xfe00;
/// Where the allocation vector is written (BDOS 27), up to 128 bytes.
pub const ALV: u16 = 0xfe80;
/// The BIOS jump table; 0x0001 holds `BIOS + 3` (the warm boot entry).
pub const BIOS: u16 = 0xff00;
/// The Disk Parameter Block of drive A: (BDOS 31).
pub const DPB: u16 = 0xff40;
/// The Disk Parameter Header of drive A: (BIOS SELDSK).
pub const DPH: u16 = 0xff50;
/// The directory buffer named by the DPH.
pub const DIRBUF: u16 = 0xff60;
/// The first trapped BIOS address: the jump table's entry n jumps to
/// `BIOS_TRAPS + n`, so the engine traps every `pc >= BIOS_TRAPS` with one compare.
pub const BIOS_TRAPS: u16 = 0xffe0;
/// Number of BIOS entry points in CP/M 2.2 (BOOT .. SECTRAN).
pub const BIOS_ENTRIES: u16 = 17;
/// The default DMA buffer.
pub const DEFAULT_DMA: u16 = 0x0080;
/// The default FCBs.
pub const FCB1: u16 = 0x005c;
/// The second default FCB.
pub const FCB2: u16 = 0x006c;
/// The command tail.
pub const TAIL: u16 = 0x0080;

/// The registers a BDOS or BIOS call reads and writes (the engine copies them from
/// and back to its CPU). Results follow CP/M 2.2: a byte in A (and L), a word in HL
/// (and A = L, B = H).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Regs {
    /// A.
    pub a: u8,
    /// BC (C = function number for the BDOS).
    pub bc: u16,
    /// DE (the parameter).
    pub de: u16,
    /// HL.
    pub hl: u16,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done: return to the caller.
    Done,
    /// Needs console input that is not there: nothing was consumed that a retry would
    /// miss; call again with the same registers when input may have arrived.
    WaitForInput,
    /// The program ended: system reset (BDOS 0), BIOS BOOT/WBOOT, or ^C at the start
    /// of a console line.
    Exit,
    /// A CP/M error that ends the program (the BDOS message is already printed).
    Error(Error),
}

/// The BDOS errors that end a program ("Bdos Err On A: ...", Interface Guide
/// section 5 "BDOS error messages"), and calls that cannot be performed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// A drive other than A: was selected.
    Select(u8),
    /// A write to a drive set read-only (BDOS 28).
    ReadOnlyDisk,
    /// A write, delete or rename of a file marked read-only.
    ReadOnlyFile,
    /// BDOS 9 found no '$' before the end of memory.
    UnterminatedString,
    /// A jump into the trapped top of memory that is no BIOS entry point.
    BadBiosEntry(u16),
}

/// The console as the host provides it.
pub trait ConsoleIo {
    /// Writes bytes to the console.
    fn write(&mut self, bytes: &[u8]);
    /// The next input byte, if one is there now (never blocks).
    fn read(&mut self) -> Option<u8>;
    /// Writes a byte to the list device (printer); discarded unless the host has one.
    fn list(&mut self, byte: u8) {
        let _ = byte;
    }
}

/// Lays out a CP/M system around a loaded program: page zero (warm boot and BDOS
/// jumps, IOBYTE, drive), the default FCBs parsed from `tail` as the CCP does, the
/// BDOS jump at [`BDOS_ENTRY`], the BIOS jump table and its trapped entry points,
/// and the disk tables for the standard geometry. Leaves the command tail at 0x0080
/// and the rest of memory as they are.
pub fn setup(mem: &mut Memory, tail: &[u8]) {
    let jp = |mem: &mut Memory, at: u16, to: u16| {
        mem[at as usize] = 0xc3;
        mem[at as usize + 1..at as usize + 3].copy_from_slice(&to.to_le_bytes());
    };
    jp(mem, 0x0000, BIOS + 3);
    mem[3] = 0;
    mem[4] = 0;
    jp(mem, BDOS, BDOS_ENTRY);
    jp(mem, BDOS_ENTRY, BDOS);
    for n in 0..BIOS_ENTRIES {
        jp(mem, BIOS + 3 * n, BIOS_TRAPS + n);
    }
    mem[BIOS_TRAPS as usize..].fill(0xc9);
    write_disk_tables(mem, &Geometry::STANDARD);
    let fcb = FCB1 as usize;
    mem[fcb..fcb + 36].fill(0);
    let used = fcb::parse_into(tail, &mut mem[fcb..fcb + 16]);
    fcb::parse_into(&tail[used.min(tail.len())..], &mut mem[FCB2 as usize..FCB2 as usize + 16]);
}

/// Writes the DPB and DPH of drive A: for geometry `g`.
pub(crate) fn write_disk_tables(mem: &mut Memory, g: &Geometry) {
    mem[DPB as usize..DPB as usize + 15].copy_from_slice(&g.dpb());
    let dph: [u16; 8] = [0, 0, 0, 0, DIRBUF, DPB, 0, ALV];
    for (i, w) in dph.iter().enumerate() {
        let at = DPH as usize + 2 * i;
        mem[at..at + 2].copy_from_slice(&w.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;

    #[test]
    fn setup_lays_out_page_zero_and_the_bios_table() {
        let mut mem: Box<Memory> = Box::new([0; 0x1_0000]);
        setup(&mut mem, b" in.txt b:OUT.*");
        assert_eq!(mem[0..3], [0xc3, 0x03, 0xff]);
        assert_eq!(mem[5..8], [0xc3, 0x00, 0xfe]);
        assert_eq!(mem[0xfe00..0xfe03], [0xc3, 0x05, 0x00]);
        // WBOOT entry at BIOS+3 jumps to the second trapped address; SECTRAN is the 17th.
        assert_eq!(mem[0xff03..0xff06], [0xc3, 0xe1, 0xff]);
        assert_eq!(mem[0xff30..0xff33], [0xc3, 0xf0, 0xff]);
        assert_eq!(&mem[0x5c..0x68], b"\0IN      TXT");
        assert_eq!(&mem[0x6c..0x78], b"\x02OUT     ???");
        assert_eq!(mem[0x7c], 0);
        assert_eq!(mem[DPB as usize + 5], 242);
        assert_eq!(mem[DPH as usize + 10..DPH as usize + 12], DPB.to_le_bytes());
    }
}
