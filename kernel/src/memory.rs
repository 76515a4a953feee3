//! Physical memory bookkeeping at boot: RAM ranges minus what is taken (the kernel
//! image with its stacks, the DTB, reserved regions), as fixed-size range lists.

/// Most ranges tracked.
pub const MAX_RANGES: usize = 64;

/// A half-open physical range [start, end).
pub type Range = (u64, u64);

/// A fixed-capacity list of disjoint ranges.
#[derive(Clone, Copy)]
pub struct Ranges {
    items: [Range; MAX_RANGES],
    len: usize,
}

impl Default for Ranges {
    fn default() -> Self {
        Self::new()
    }
}

impl Ranges {
    /// No ranges.
    pub const fn new() -> Self {
        Ranges { items: [(0, 0); MAX_RANGES], len: 0 }
    }

    /// Adds a range (ignored if empty or the list is full).
    pub fn push(&mut self, r: Range) {
        if r.0 < r.1 && self.len < MAX_RANGES {
            self.items[self.len] = r;
            self.len += 1;
        }
    }

    /// The ranges.
    pub fn iter(&self) -> impl Iterator<Item = Range> + '_ {
        self.items[..self.len].iter().copied()
    }

    /// Removes [cut.0, cut.1) from every range, splitting where needed.
    pub fn subtract(&mut self, cut: Range) {
        let mut out = Ranges::new();
        for (s, e) in self.iter() {
            if cut.1 <= s || cut.0 >= e {
                out.push((s, e));
            } else {
                out.push((s, cut.0.max(s)));
                out.push((cut.1.min(e), e));
            }
        }
        *self = out;
    }

    /// The largest range.
    pub fn largest(&self) -> Option<Range> {
        self.iter().max_by_key(|r| r.1 - r.0)
    }

    /// Total bytes.
    pub fn total(&self) -> u64 {
        self.iter().map(|r| r.1 - r.0).sum()
    }
}
