//! The one error type of this crate: what is wrong with the device tree, said plainly.
//!
//! Every variant is plain data (`Copy`, no borrowed text) so the kernel can keep it in
//! [`crate::Platform`] and print it once a console exists. Which errors stop
//! [`crate::parse`] and which only show up in [`crate::Platform::validate`] is described
//! in the crate documentation ("What is fatal").

use core::fmt;

use crate::types::Mpidr;

/// What is wrong with a device tree blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer bytes than the 40-byte FDT header (Devicetree Specification v0.4, 5.2).
    TooShort {
        /// How many bytes there were.
        len: usize,
    },
    /// The first word is not the FDT magic 0xd00dfeed: this is not a device tree.
    BadMagic {
        /// The big-endian word found instead.
        found: u32,
    },
    /// The header's version fields say this blob cannot be read as version 17.
    UnsupportedVersion {
        /// `version`.
        version: u32,
        /// `last_comp_version`.
        last_compatible: u32,
    },
    /// The header's `totalsize` is larger than the bytes handed over.
    Truncated {
        /// `totalsize` from the header.
        total_size: usize,
        /// Bytes available.
        available: usize,
    },
    /// `totalsize` is outside [40, [`crate::MAX_TOTAL_SIZE`]].
    BadTotalSize {
        /// `totalsize` from the header.
        total_size: usize,
    },
    /// A header offset or size points outside the blob or is misaligned.
    BadLayout(&'static str),
    /// The structure block or memory reservation block cannot be read.
    Malformed(&'static str),
    /// A node the kernel cannot do without is absent (for example `/cpus`).
    MissingNode(&'static str),
    /// `/cpus` has no `cpu` node with `device_type = "cpu"`.
    NoCpus,
    /// More entries than this crate keeps (CPUs, memory ranges, reserved regions).
    TooMany {
        /// What overflowed.
        what: &'static str,
        /// The fixed capacity.
        capacity: usize,
    },
    /// A property has the wrong length or an unknown value.
    BadProperty {
        /// Which node (by role, e.g. "cpu", "psci").
        node: &'static str,
        /// The property name.
        property: &'static str,
    },
    /// `#address-cells` / `#size-cells` larger than this crate reads (more than 2).
    UnsupportedCells {
        /// Where.
        node: &'static str,
        /// The cell count found.
        cells: u32,
    },
    /// A `reg` address is not covered by the parent buses' `ranges`.
    Untranslatable(&'static str),
    /// A path (from `stdout-path` or an alias) names no node.
    NoSuchNode(&'static str),
    /// Two CPU nodes carry the same MPIDR.
    DuplicateCpu {
        /// The repeated MPIDR.
        mpidr: Mpidr,
    },
    /// A CPU with `enable-method = "spin-table"` has no `cpu-release-addr`.
    SpinTableWithoutReleaseAddr {
        /// The CPU.
        mpidr: Mpidr,
    },
    /// Neither `/chosen/stdout-path` nor any enabled supported UART gives a console.
    NoConsole,
    /// The console UART is of a kind this kernel has no driver for.
    UnsupportedConsole,
    /// No supported interrupt controller (GICv2, GICv3, Apple AIC, AIC2) was found.
    NoInterruptController,
    /// No `arm,armv8-timer` node, or none of its interrupts could be read.
    NoTimer,
    /// No usable RAM range.
    NoMemory,
    /// The root `compatible` and the devices present name neither QEMU virt nor Apple.
    UnknownBoard,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::TooShort { len } => {
                write!(f, "device tree: only {len} bytes, shorter than the 40-byte header")
            }
            Error::BadMagic { found } => {
                write!(f, "not a device tree: magic {found:#010x}, expected 0xd00dfeed")
            }
            Error::UnsupportedVersion { version, last_compatible } => write!(
                f,
                "device tree version {version} (compatible back to {last_compatible}) cannot be read as version 17"
            ),
            Error::Truncated { total_size, available } => {
                write!(f, "device tree truncated: header says {total_size} bytes, only {available} present")
            }
            Error::BadTotalSize { total_size } => {
                write!(f, "device tree totalsize {total_size} is implausible")
            }
            Error::BadLayout(what) => write!(f, "device tree header: {what}"),
            Error::Malformed(what) => write!(f, "device tree malformed: {what}"),
            Error::MissingNode(path) => write!(f, "device tree has no {path} node"),
            Error::NoCpus => write!(f, "device tree: /cpus has no cpu node"),
            Error::TooMany { what, capacity } => {
                write!(f, "device tree: more {what} than the {capacity} this kernel keeps")
            }
            Error::BadProperty { node, property } => {
                write!(f, "device tree: {node} property {property} is malformed")
            }
            Error::UnsupportedCells { node, cells } => {
                write!(f, "device tree: {node} uses {cells} cells per value; at most 2 are supported")
            }
            Error::Untranslatable(what) => {
                write!(f, "device tree: the {what} address is not mapped by its buses' ranges")
            }
            Error::NoSuchNode(what) => write!(f, "device tree: {what} names a node that does not exist"),
            Error::DuplicateCpu { mpidr } => write!(f, "device tree: two cpu nodes with MPIDR {mpidr}"),
            Error::SpinTableWithoutReleaseAddr { mpidr } => {
                write!(f, "device tree: cpu {mpidr} uses spin-table but has no cpu-release-addr")
            }
            Error::NoConsole => write!(f, "device tree names no console UART"),
            Error::UnsupportedConsole => write!(f, "device tree console UART is of an unsupported kind"),
            Error::NoInterruptController => {
                write!(f, "device tree has no supported interrupt controller")
            }
            Error::NoTimer => write!(f, "device tree has no usable arm,armv8-timer node"),
            Error::NoMemory => write!(f, "device tree describes no RAM"),
            Error::UnknownBoard => write!(f, "device tree describes neither QEMU virt nor an Apple SoC"),
        }
    }
}

/// Maps the parser crate's error to ours, keeping a short description.
impl From<fdt::FdtError> for Error {
    fn from(e: fdt::FdtError) -> Self {
        use fdt::parsing::ParseError as P;
        Error::Malformed(match e {
            fdt::FdtError::ParseError(P::UnexpectedEndOfData) => "structure block ends early",
            fdt::FdtError::ParseError(P::InvalidCStrValue) => "a name is not a terminated UTF-8 string",
            fdt::FdtError::ParseError(P::InvalidTokenValue) => "unknown token in structure block",
            fdt::FdtError::ParseError(P::UnexpectedToken) => "unexpected token in structure block",
            fdt::FdtError::ParseError(_) => "structure block cannot be parsed",
            fdt::FdtError::BadMagic => "bad magic",
            fdt::FdtError::SliceTooSmall => "a block lies outside the blob",
            _ => "structure block cannot be parsed",
        })
    }
}
