//! The zbeam kernel binary: everything lives in the library; the boot stub enters
//! through `zbeam_primary_entry` and `zbeam_secondary_entry` (see `init`).
#![no_std]
#![no_main]

// Link the library (boot stub, vectors, entry points, panic handler).
use zbeam_kernel as _;
