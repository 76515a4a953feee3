//! zbeam-initrd: the initial RAM disk as Z80 program images.
//!
//! What: QEMU's `-initrd FILE` (or a boot loader) places an archive in RAM and names
//! it in `/chosen`. The archive is a tar file (POSIX ustar, as `tar --format=ustar`
//! and `tools/mkinitrd.sh` write it), read with the `tar-no-std` crate, which checks
//! every header's checksum, type flag and size and the two zero blocks that end an
//! archive before anything is read. [`read`] then checks each regular file as a
//! program and returns one [`Verdict`] per file, in archive order: loaded, with a
//! name and its bytes (borrowed from the archive, never copied), or rejected with the
//! reason. Directories and other non-file entries are skipped.
//!
//! Why a crate: the rules are policy and are tested here on the host with archives
//! built in the tests; the kernel only finds the memory, keeps it reserved and prints
//! the verdicts (DESIGN.md rule 5: bad input gets a clear error and harms nothing).
//!
//! The rules for a file `DIR/NAME.EXT` (a leading `./` is ignored):
//! * no directory part; `EXT` is `com` or `bin` (either case);
//! * `NAME`, lower-cased, is 1 to [`MAX_NAME`] characters of `a-z`, `0-9`, `_`, `-`,
//!   starting with a letter or digit; it is the image's name (`spawn NAME`);
//! * 1 to `limits.max_bytes` bytes (an empty program or one that would run into the
//!   stack is refused);
//! * the name is not already taken (by a built-in image or an earlier file);
//! * at most `limits.max_images` files are loaded; later ones are refused.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use tar_no_std::TarArchiveRef;

pub use tar_no_std::CorruptDataError;

/// Longest image name.
pub const MAX_NAME: usize = 16;

/// What the archive may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest program in bytes (the engine's `abi::MAX_IMAGE`).
    pub max_bytes: usize,
    /// Most programs loaded from one archive.
    pub max_images: usize,
}

/// A program taken from the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program<'a> {
    /// Its image name (the file name without extension, lower-cased).
    pub name: String,
    /// Its bytes, inside the archive.
    pub bytes: &'a [u8],
}

/// Why a file was not loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Not named `*.com` or `*.bin`.
    NotAProgram,
    /// The file name has a directory part, or the name is empty, too long or has
    /// characters other than `a-z`, `0-9`, `_`, `-`.
    BadName,
    /// No bytes.
    Empty,
    /// More bytes than a process can load.
    TooLarge {
        /// The file's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A built-in image or an earlier file already has this name.
    Duplicate,
    /// The archive already gave the most images allowed.
    TooMany {
        /// The limit.
        max: usize,
    },
    /// The file name is not UTF-8.
    Unreadable,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reject::NotAProgram => f.write_str("not a .com or .bin file"),
            Reject::BadName => write!(f, "name must be 1-{MAX_NAME} of a-z 0-9 _ - with no directory"),
            Reject::Empty => f.write_str("empty"),
            Reject::TooLarge { size, max } => write!(f, "{size} bytes, more than the {max} a process can load"),
            Reject::Duplicate => f.write_str("an image of that name exists"),
            Reject::TooMany { max } => write!(f, "more than {max} images"),
            Reject::Unreadable => f.write_str("file name is not UTF-8"),
        }
    }
}

/// One file of the archive and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Loaded.
    Loaded(Program<'a>),
    /// Not loaded.
    Rejected {
        /// The file name as the archive gives it (`(not UTF-8)` if it is not).
        file: String,
        /// Why.
        why: Reject,
    },
}

/// Why the archive as a whole was refused (nothing is loaded from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveError {
    /// Zero bytes.
    Empty,
    /// Not a well-formed tar archive (the reader's reason).
    Corrupt(CorruptDataError),
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveError::Empty => f.write_str("the archive is empty"),
            ArchiveError::Corrupt(e) => write!(f, "not a valid tar archive: {e}"),
        }
    }
}

/// Checks the archive and each file in it (see the crate documentation for the
/// rules); `taken` says whether a name is already in use (the built-in images).
pub fn read<'a>(
    archive: &'a [u8],
    limits: Limits,
    taken: impl Fn(&str) -> bool,
) -> Result<Vec<Verdict<'a>>, ArchiveError> {
    if archive.is_empty() {
        return Err(ArchiveError::Empty);
    }
    let tar = TarArchiveRef::new(archive).map_err(ArchiveError::Corrupt)?;
    let mut out: Vec<Verdict<'a>> = Vec::new();
    let mut loaded = 0usize;
    for entry in tar.entries() {
        let file_name = entry.filename();
        let Ok(file) = file_name.as_str() else {
            out.push(Verdict::Rejected { file: String::from("(not UTF-8)"), why: Reject::Unreadable });
            continue;
        };
        let check = || -> Result<String, Reject> {
            let name = program_name(file)?;
            let bytes = entry.data();
            if bytes.is_empty() {
                return Err(Reject::Empty);
            }
            if bytes.len() > limits.max_bytes {
                return Err(Reject::TooLarge { size: bytes.len(), max: limits.max_bytes });
            }
            let earlier = |v: &Verdict<'_>| matches!(v, Verdict::Loaded(p) if p.name == name);
            if taken(&name) || out.iter().any(earlier) {
                return Err(Reject::Duplicate);
            }
            if loaded >= limits.max_images {
                return Err(Reject::TooMany { max: limits.max_images });
            }
            Ok(name)
        };
        match check() {
            Ok(name) => {
                loaded += 1;
                out.push(Verdict::Loaded(Program { name, bytes: entry.data() }));
            }
            Err(why) => out.push(Verdict::Rejected { file: String::from(file), why }),
        }
    }
    Ok(out)
}

/// The image name for file name `file`, or why it cannot be one.
pub fn program_name(file: &str) -> Result<String, Reject> {
    let file = file.strip_prefix("./").unwrap_or(file);
    let (stem, ext) = file.rsplit_once('.').ok_or(Reject::NotAProgram)?;
    if !ext.eq_ignore_ascii_case("com") && !ext.eq_ignore_ascii_case("bin") {
        return Err(Reject::NotAProgram);
    }
    let name = stem.to_ascii_lowercase();
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > MAX_NAME || !first_ok || !name.chars().all(ok_char) {
        return Err(Reject::BadName);
    }
    Ok(name)
}
