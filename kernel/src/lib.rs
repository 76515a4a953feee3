//! The zbeam kernel library (aarch64 only).
#![no_std]
