//! `test=stack-overflow-N`: core N recurses without end until its stack reaches the
//! guard page below it; the exception vectors must move to the core's exception stack
//! and report `stack overflow on core N` through the panic path (qemu-exit code 1).
//!
//! Core 0 runs on the boot stack (512 KiB), cores 1.. on their 64 KiB slots; both kinds
//! of guard page are reached this way. The host side is `tests/qemu/tests/overflow.rs`.

use crate::arch::cpu;
use crate::board::{self, Ipi};
use crate::panic::finish;
use crate::println;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The core asked to overflow its stack (usize::MAX: none).
static TARGET: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Bytes of locals each level of the recursion keeps live on the stack.
const FRAME_BYTES: usize = 512;

/// Recurses until the stack runs out. The array is passed to `black_box` so it lives
/// in this frame, and the addition after the call keeps it from being a tail call.
#[inline(never)]
fn recurse(depth: usize) -> usize {
    let mut locals = [0u8; FRAME_BYTES];
    locals[depth % FRAME_BYTES] = depth as u8;
    core::hint::black_box(&mut locals);
    if depth == usize::MAX {
        return 0;
    }
    recurse(depth + 1) + locals[(depth + 1) % FRAME_BYTES] as usize
}

fn overflow_here(core: usize) -> ! {
    println!("test stack-overflow: core {core} recurses until its stack runs out");
    let r = recurse(0);
    println!("test stack-overflow: FAIL: the recursion on core {core} returned {r}");
    finish(7)
}

/// Core 0: runs the test named `test` (`stack-overflow-N`, N a core that is online).
pub fn main(test: &str) -> ! {
    let online = board::machine().map_or(1, |m| m.cores);
    let Some(core) = test.strip_prefix("stack-overflow-").and_then(|n| n.parse::<usize>().ok()).filter(|&c| c < online)
    else {
        println!("test {test}: name a core below {online}, as in stack-overflow-1");
        finish(4)
    };
    if core == 0 {
        overflow_here(0);
    }
    crate::hooks::set_secondary_idle(on_secondary);
    // Release: the target core sees the request before the wake-up IPI.
    TARGET.store(core, Ordering::Release);
    if let Some(m) = board::machine() {
        m.send_ipi(core, Ipi::Wake);
    }
    // The target's report stops this core with an IPI; reaching the end is a failure.
    cpu::spin_until(20_000_000, || false);
    println!("test stack-overflow: FAIL: core {core} reported nothing within 20 s");
    finish(7)
}

/// Every other core, from its idle loop (the secondary-idle hook `main` installs):
/// overflows its stack when it is the target.
pub fn on_secondary(core: usize) {
    if TARGET.load(Ordering::Acquire) == core {
        overflow_here(core);
    }
}
