//! Fixed-capacity, `Copy` containers: a list and a string.
//!
//! The kernel calls [`crate::parse`] before its heap exists (the heap is sized from
//! the memory ranges found here), so nothing may allocate. `heapless::Vec` and
//! `heapless::String` would do the job but are not `Copy`; these two small types are,
//! which lets [`crate::Platform`] be plain data the kernel can copy into a static.

use core::fmt;
use core::ops::Deref;

/// Up to `N` values of a `Copy` type, kept in an array.
#[derive(Clone, Copy)]
pub struct List<T: Copy + Default, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy + Default, const N: usize> List<T, N> {
    /// The capacity, `N`.
    pub const CAPACITY: usize = N;

    /// An empty list.
    pub fn new() -> Self {
        Self { items: [T::default(); N], len: 0 }
    }

    /// Appends `value`; gives it back when the list is full.
    pub fn push(&mut self, value: T) -> Result<(), T> {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = value;
                self.len += 1;
                Ok(())
            }
            None => Err(value),
        }
    }

    /// The stored values.
    pub fn as_slice(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// The stored values, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        self.items.get_mut(..self.len).unwrap_or(&mut [])
    }
}

impl<T: Copy + Default, const N: usize> Default for List<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Default, const N: usize> Deref for List<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Copy + Default + fmt::Debug, const N: usize> fmt::Debug for List<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<T: Copy + Default + PartialEq, const N: usize> PartialEq for List<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Copy + Default + Eq, const N: usize> Eq for List<T, N> {}

/// A UTF-8 string of at most `N` bytes. Longer input is cut at a character
/// boundary and [`BoundedStr::truncated`] says so.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BoundedStr<const N: usize> {
    bytes: [u8; N],
    len: usize,
    truncated: bool,
}

impl<const N: usize> BoundedStr<N> {
    /// The empty string.
    pub const fn empty() -> Self {
        Self { bytes: [0; N], len: 0, truncated: false }
    }

    /// Copies `s`, cut to the longest prefix of at most `N` bytes that ends on a
    /// character boundary.
    pub fn from_str_truncating(s: &str) -> Self {
        let mut len = s.len().min(N);
        while !s.is_char_boundary(len) {
            len -= 1;
        }
        let mut out = Self::empty();
        if let (Some(dst), Some(src)) = (out.bytes.get_mut(..len), s.as_bytes().get(..len)) {
            dst.copy_from_slice(src);
            out.len = len;
        }
        out.truncated = len < s.len();
        out
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only whole characters of a `&str` are ever stored, so this cannot fail;
        // the fallback keeps the crate free of panics all the same.
        self.bytes.get(..self.len).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or("")
    }

    /// True when the source text was longer than `N` bytes and was cut.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl<const N: usize> Default for BoundedStr<N> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<const N: usize> Deref for BoundedStr<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> fmt::Debug for BoundedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)?;
        if self.truncated {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl<const N: usize> fmt::Display for BoundedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> PartialEq<str> for BoundedStr<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for BoundedStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_refuses_past_capacity() {
        let mut l: List<u8, 2> = List::new();
        assert_eq!(l.push(1), Ok(()));
        assert_eq!(l.push(2), Ok(()));
        assert_eq!(l.push(3), Err(3));
        assert_eq!(l.as_slice(), &[1, 2]);
    }

    #[test]
    fn string_cuts_on_char_boundary() {
        let s: BoundedStr<4> = BoundedStr::from_str_truncating("abcé");
        assert_eq!(s.as_str(), "abc");
        assert!(s.truncated());
        let t: BoundedStr<8> = BoundedStr::from_str_truncating("abcé");
        assert_eq!(t.as_str(), "abcé");
        assert!(!t.truncated());
    }
}
