//! A fake register bus for the driver tests: it logs every access and answers reads
//! from a script.
#![allow(dead_code)] // each test file uses part of it

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use zbeam_devices::RegisterBus;
use Access::{R, W};

/// One register access: a read of (offset, value returned) or a write of (offset, value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A read and the value it returned.
    R(usize, u32),
    /// A write and the value written.
    W(usize, u32),
}

/// A bus that records accesses. A read of a scripted offset returns the script's
/// values in turn and then keeps returning the last one; any other read returns the
/// last value written there (0 if none).
#[derive(Default)]
pub struct FakeBus {
    log: RefCell<Vec<Access>>,
    reads: RefCell<HashMap<usize, VecDeque<u32>>>,
    sticky: RefCell<HashMap<usize, u32>>,
}

impl FakeBus {
    /// Reads of `off` return `values` in turn, then keep returning the last one.
    pub fn script(self, off: usize, values: &[u32]) -> Self {
        self.reads.borrow_mut().insert(off, values.iter().copied().collect());
        self
    }
    /// The accesses since the last call.
    pub fn take_log(&self) -> Vec<Access> {
        std::mem::take(&mut *self.log.borrow_mut())
    }
}

impl RegisterBus for FakeBus {
    fn read32(&self, off: usize) -> u32 {
        let v = match self.reads.borrow_mut().get_mut(&off) {
            Some(q) if q.len() > 1 => q.pop_front().unwrap(),
            Some(q) => *q.front().unwrap_or(&0),
            None => *self.sticky.borrow().get(&off).unwrap_or(&0),
        };
        self.log.borrow_mut().push(R(off, v));
        v
    }
    fn write32(&self, off: usize, v: u32) {
        self.sticky.borrow_mut().insert(off, v);
        self.log.borrow_mut().push(W(off, v));
    }
}
