//! Kernel command line (`/chosen/bootargs`, set by QEMU's `-append` or m1n1):
//! space-separated `key=value` words.
//!
//! Known keys: `test=NAME` (run an in-kernel test and exit QEMU), `tick=HZ`,
//! `workload=off` (boot to the shell alone, without the default workload),
//! `slotheap=BYTES` (heap per process-table slot; `runtime::table_size`).

/// The value of `key=` in `args`, if present.
pub fn get<'a>(args: &'a str, key: &str) -> Option<&'a str> {
    args.split_ascii_whitespace().find_map(|w| w.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
}
