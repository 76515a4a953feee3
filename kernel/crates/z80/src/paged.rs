//! Paged, copy-on-write Z80 memory: a process's 64 KiB as a table of [`PAGE_SIZE`]
//! pages that start out shared and are copied on their first write.
//!
//! What: a [`Template`] is the initial memory of a program, built once (pages that are
//! all zero point at the one static [`ZERO_PAGE`], the others are stored once). A
//! [`PagedMemory`] starts with every page shared from its template and owns a page only
//! after writing to it: the write takes a page from a [`PageSource`] (a pool), copies
//! the shared page into it and changes only the copy, so the template and every other
//! memory made from it never change. Reads never allocate.
//!
//! A page is an array of `AtomicU8` accessed with relaxed loads and stores (plain byte
//! loads and stores on AArch64 and x86-64). That lets the page table be one reference
//! per page for shared and owned pages alike, so a read is two loads with no branch.
//! The pages a memory owns come from a [`PageSource`] as [`OwnedPage`]s (a page only
//! its holder can reach) and go back at [`PagedMemory::release`]. The one piece of
//! unsafe code is the copy on first write ([`copy_page`]) and the flat copy
//! ([`PagedMemory::copy_to`]), which move whole pages with `memcpy`/`memset` instead
//! of 1,024 byte-sized atomic accesses; their comments say why no other thread can
//! write those bytes meanwhile.
//!
//! Limits: the owner of the memory grants an allowance of pages it may still copy
//! ([`PagedMemory::set_allowance`]); a write that needs a page beyond it, or for which
//! the source has none, is dropped and recorded ([`PagedMemory::take_refused`]), so the
//! owner can end the program at its next look instead of the allocator panicking.
//!
//! Why 1 KiB pages: 64 pages make a 512-byte table and let the set of owned pages be
//! one `u64`; an idle process typically owns one or two pages (its stack and a receive
//! buffer). BENCHMARKS.md has the measurements.

use crate::Bus;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicU8, Ordering::Relaxed};
use core::{fmt, ptr};

/// log2 of the page size.
pub const PAGE_SHIFT: u32 = 10;
/// Bytes in a page.
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// Pages in the 64 KiB address space.
pub const PAGES: usize = 0x1_0000 >> PAGE_SHIFT;
/// One page of bytes.
pub type Page = [AtomicU8; PAGE_SIZE];
/// The page every all-zero page of a template reads from.
pub static ZERO_PAGE: Page = [const { AtomicU8::new(0) }; PAGE_SIZE];

const _: () = assert!(PAGES <= 64, "the owned-page set is one u64");

/// A zeroed page from the global allocator, or None if the allocation fails.
pub fn try_alloc_page() -> Option<Box<Page>> {
    let mut v: Vec<AtomicU8> = Vec::new();
    v.try_reserve_exact(PAGE_SIZE).ok()?;
    v.extend((0..PAGE_SIZE).map(|_| AtomicU8::new(0)));
    v.into_boxed_slice().try_into().ok()
}

/// A page that only its holder can reach: made from a fresh allocation (which is
/// leaked, so the page lives as long as `'t`), never cloned, and handed from a
/// [`PageSource`] to one [`PagedMemory`] and back. While a memory owns it, the
/// memory's table holds the only reference to it, so its writes (`&mut self`) are the
/// only writes to the page.
pub struct OwnedPage<'t>(&'t Page);

impl OwnedPage<'static> {
    /// A new zeroed page from the global allocator, or None if the allocation fails.
    pub fn alloc() -> Option<Self> {
        try_alloc_page().map(|p| OwnedPage(Box::leak(p)))
    }

    /// The page's address (for ordering pages, e.g. to give them back to the heap from
    /// the highest address down).
    pub fn addr(&self) -> usize {
        core::ptr::from_ref(self.0) as usize
    }

    /// Gives the page back to the global allocator.
    #[allow(unsafe_code)]
    pub fn free(self) {
        let page = core::ptr::from_ref(self.0).cast_mut();
        // SAFETY: every `OwnedPage<'static>` comes from `alloc` (a leaked `Box<Page>`),
        // or is the same page re-made from the table entry such a page filled
        // (`give_owned`), and is never cloned: this is the only reference to the
        // allocation, and `self` is consumed, so nothing uses the page after.
        drop(unsafe { Box::from_raw(page) });
    }
}

impl fmt::Debug for OwnedPage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnedPage({:p})", self.0)
    }
}

/// Copies page `src` into `dst` (a fill with zeros when `src` is the zero page).
///
/// `src` is a page a memory does not own: a template's page or [`ZERO_PAGE`], which
/// nothing ever writes (a memory writes only the pages it owns), so reading it with
/// plain loads races with no write. `dst` is an [`OwnedPage`], which no one else can
/// reach while its holder copies into it.
#[allow(unsafe_code)]
fn copy_page(dst: &OwnedPage<'_>, src: &Page) {
    // `AtomicU8` has the size, alignment and bit validity of `u8`, and every byte of a
    // page is inside an `UnsafeCell`, so writing through a pointer made from a shared
    // reference to the page is allowed.
    let to = ptr::from_ref::<Page>(dst.0).cast::<u8>().cast_mut();
    if ptr::eq(src, &ZERO_PAGE) {
        // SAFETY: `to` covers the PAGE_SIZE bytes of `dst`, which no other thread
        // accesses (see `OwnedPage`).
        unsafe { to.write_bytes(0, PAGE_SIZE) };
    } else {
        // SAFETY: as above for `to`; `src` is PAGE_SIZE readable bytes that nothing
        // writes (see the function's comment), and two distinct pages do not overlap
        // (`src` is not owned, `dst` is).
        unsafe { ptr::copy_nonoverlapping(ptr::from_ref::<Page>(src).cast::<u8>(), to, PAGE_SIZE) };
    }
}

/// Where the pages a memory owns come from, and go back to.
pub trait PageSource<'t> {
    /// A page to own (its content does not matter), or None if there is none.
    fn take(&self) -> Option<OwnedPage<'t>>;
    /// Gives back a page [`PageSource::take`] handed out.
    fn give(&self, page: OwnedPage<'t>);
}

/// A single-threaded [`PageSource`] for tools and tests: pages from the global
/// allocator, kept for reuse once given back (never returned to the allocator).
#[derive(Default)]
pub struct HeapPages<'t> {
    free: RefCell<Vec<OwnedPage<'t>>>,
}

impl<'t> PageSource<'t> for HeapPages<'t> {
    fn take(&self) -> Option<OwnedPage<'t>> {
        self.free.borrow_mut().pop().or_else(|| OwnedPage::alloc())
    }
    fn give(&self, page: OwnedPage<'t>) {
        let mut free = self.free.borrow_mut();
        if free.try_reserve(1).is_ok() {
            free.push(page);
        }
    }
}

/// The initial memory of a program: its pages, stored once and shared read-only by
/// every [`PagedMemory`] made from it.
pub struct Template {
    /// The non-zero pages (None: the page is all zero).
    pages: [Option<Box<Page>>; PAGES],
}

impl Template {
    /// A template holding `flat` (all 64 KiB), or None if memory for its non-zero pages
    /// cannot be had.
    pub fn from_flat(flat: &[u8; 0x1_0000]) -> Option<Template> {
        let mut pages: [Option<Box<Page>>; PAGES] = core::array::from_fn(|_| None);
        for (slot, src) in pages.iter_mut().zip(flat.chunks_exact(PAGE_SIZE)) {
            if src.iter().any(|&b| b != 0) {
                let page = try_alloc_page()?;
                for (d, &s) in page.iter().zip(src) {
                    d.store(s, Relaxed);
                }
                *slot = Some(page);
            }
        }
        Some(Template { pages })
    }

    /// A template of all zeros (it holds no page of its own).
    pub const fn zero() -> Template {
        Template { pages: [const { None }; PAGES] }
    }

    /// Page `i` of the template.
    fn page(&self, i: usize) -> &Page {
        self.pages[i].as_deref().unwrap_or(&ZERO_PAGE)
    }

    /// Bytes the template holds: its non-zero pages and its own page table.
    pub fn bytes(&self) -> usize {
        self.pages.iter().filter(|p| p.is_some()).count() * PAGE_SIZE + core::mem::size_of::<Self>()
    }
}

/// A 64 KiB address space made of pages shared from a [`Template`] until written.
///
/// Pages it owns go back to their source only through [`PagedMemory::release`]; a
/// memory dropped without it leaves them to nobody (they stay allocated). It is not
/// `Clone`: the table is the only holder of the pages it owns (see [`OwnedPage`]).
pub struct PagedMemory<'t> {
    pages: [&'t Page; PAGES],
    /// Bit i: page i is owned (written since the memory was made).
    owned: u64,
    /// Pages that may still be copied.
    allowance: usize,
    /// A write was dropped because it needed a page that could not be had.
    refused: bool,
}

impl<'t> PagedMemory<'t> {
    /// A memory reading exactly as `template`, owning nothing, with an unlimited
    /// allowance.
    pub fn new(template: &'t Template) -> Self {
        PagedMemory {
            pages: core::array::from_fn(|i| template.page(i)),
            owned: 0,
            allowance: usize::MAX,
            refused: false,
        }
    }

    /// The byte at `addr`.
    #[inline(always)]
    pub fn read(&self, addr: u16) -> u8 {
        self.pages[addr as usize >> PAGE_SHIFT][addr as usize & (PAGE_SIZE - 1)].load(Relaxed)
    }

    /// Writes `value` at `addr`, copying the page first (a page from `src`) if it is
    /// shared. If the copy is refused (allowance spent or no page), the write is dropped
    /// and recorded.
    #[inline(always)]
    pub fn write<S: PageSource<'t>>(&mut self, addr: u16, value: u8, src: &S) {
        let i = addr as usize >> PAGE_SHIFT;
        if self.owned >> i & 1 == 0 && !self.own(i, src) {
            return;
        }
        self.pages[i][addr as usize & (PAGE_SIZE - 1)].store(value, Relaxed);
    }

    /// Makes page `i` this memory's own (copy on write); false if that was refused.
    #[cold]
    #[inline(never)]
    fn own<S: PageSource<'t>>(&mut self, i: usize, src: &S) -> bool {
        if self.owned >> i & 1 != 0 {
            return true;
        }
        let copy = if self.allowance == 0 { None } else { src.take() };
        let Some(copy) = copy else {
            self.refused = true;
            return false;
        };
        copy_page(&copy, self.pages[i]);
        self.allowance -= 1;
        self.owned |= 1 << i;
        self.pages[i] = copy.0;
        true
    }

    /// Copies `out.len()` bytes from `at` into `out` (wrapping at the end of the 64 KiB).
    pub fn read_bytes(&self, at: u16, out: &mut [u8]) {
        let mut addr = at;
        let mut rest = out;
        while !rest.is_empty() {
            let (i, off) = (addr as usize >> PAGE_SHIFT, addr as usize & (PAGE_SIZE - 1));
            // A run ends at its page's end at the latest, so it never passes 0xFFFF.
            let (run, next) = rest.split_at_mut(rest.len().min(PAGE_SIZE - off));
            for (b, s) in run.iter_mut().zip(&self.pages[i][off..]) {
                *b = s.load(Relaxed);
            }
            addr = addr.wrapping_add(run.len() as u16);
            rest = next;
        }
    }

    /// Writes `data` at `at` (wrapping at the end of the 64 KiB), copying pages from
    /// `src` as needed. False if a copy was refused (the bytes before it are written).
    pub fn write_bytes<S: PageSource<'t>>(&mut self, at: u16, data: &[u8], src: &S) -> bool {
        let mut addr = at;
        let mut rest = data;
        while !rest.is_empty() {
            let (i, off) = (addr as usize >> PAGE_SHIFT, addr as usize & (PAGE_SIZE - 1));
            let (run, next) = rest.split_at(rest.len().min(PAGE_SIZE - off));
            if !self.own(i, src) {
                return false;
            }
            for (d, &b) in self.pages[i][off..].iter().zip(run) {
                d.store(b, Relaxed);
            }
            addr = addr.wrapping_add(run.len() as u16);
            rest = next;
        }
        true
    }

    /// Copies all 64 KiB into `flat`.
    #[allow(unsafe_code)]
    pub fn copy_to(&self, flat: &mut [u8; 0x1_0000]) {
        for (dst, &page) in flat.chunks_exact_mut(PAGE_SIZE).zip(self.pages.iter()) {
            // SAFETY: `page` is PAGE_SIZE readable bytes (`AtomicU8` is laid out as
            // `u8`) that no thread writes meanwhile: a page this memory owns is written
            // only through `&mut self` (see `OwnedPage`), and a page it does not own is
            // a template's or the zero page, which nothing writes. `dst` is PAGE_SIZE
            // bytes of `flat`, borrowed mutably, so the two do not overlap.
            unsafe { ptr::copy_nonoverlapping(ptr::from_ref::<Page>(page).cast::<u8>(), dst.as_mut_ptr(), PAGE_SIZE) };
        }
    }

    /// Gives every owned page back to `src` (which must be where they came from); the
    /// memory then reads as zeros everywhere and owns nothing.
    pub fn release<S: PageSource<'t>>(&mut self, src: &S) {
        self.give_owned(src);
        self.pages = [&ZERO_PAGE; PAGES];
    }

    /// Gives every owned page back to `src`; their table entries are left to the caller
    /// to overwrite.
    fn give_owned<S: PageSource<'t>>(&mut self, src: &S) {
        let mut owned = core::mem::take(&mut self.owned);
        while owned != 0 {
            let i = owned.trailing_zeros() as usize;
            owned &= owned - 1;
            // The owned bit said this entry came from an `OwnedPage` that `own`
            // consumed: the table held the only reference, which goes back now (the
            // caller overwrites the entry before the memory is used again).
            src.give(OwnedPage(self.pages[i]));
        }
    }

    /// Gives every owned page back to `src` and makes the memory read exactly as
    /// `template` again, owning nothing, with an unlimited allowance and no refusal
    /// recorded: [`PagedMemory::new`] without building a new memory.
    pub fn reset<S: PageSource<'t>>(&mut self, template: &'t Template, src: &S) {
        self.give_owned(src);
        self.pages = core::array::from_fn(|i| template.page(i));
        self.allowance = usize::MAX;
        self.refused = false;
    }

    /// Pages this memory owns (copied on write).
    pub fn owned_pages(&self) -> usize {
        self.owned.count_ones() as usize
    }

    /// Whether page `i` is this memory's own copy.
    pub fn is_owned(&self, i: usize) -> bool {
        i < PAGES && self.owned >> i & 1 != 0
    }

    /// Sets how many more pages may be copied from now on.
    pub fn set_allowance(&mut self, pages: usize) {
        self.allowance = pages;
    }

    /// Whether a write was refused since the last call (and clears the record).
    pub fn take_refused(&mut self) -> bool {
        core::mem::take(&mut self.refused)
    }
}

/// A [`Bus`] over a paged memory and its page source (ports read 0xFF, nothing is
/// trapped); runtimes that trap addresses have their own bus around the same memory.
pub struct PagedBus<'a, 't, S> {
    /// The memory.
    pub mem: &'a mut PagedMemory<'t>,
    /// Where copied pages come from.
    pub src: &'a S,
}

impl<'t, S: PageSource<'t>> Bus for PagedBus<'_, 't, S> {
    #[inline(always)]
    fn read(&mut self, addr: u16) -> u8 {
        self.mem.read(addr)
    }
    #[inline(always)]
    fn write(&mut self, addr: u16, value: u8) {
        self.mem.write(addr, value, self.src)
    }
    #[inline(always)]
    fn input(&mut self, _port: u16) -> u8 {
        0xff
    }
    #[inline(always)]
    fn output(&mut self, _port: u16, _value: u8) {}
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::Cpu;
    use std::vec;

    fn template_with(at: usize, bytes: &[u8]) -> Template {
        let mut flat = vec![0u8; 0x1_0000];
        flat[at..at + bytes.len()].copy_from_slice(bytes);
        Template::from_flat(flat.as_slice().try_into().unwrap()).unwrap()
    }

    #[test]
    fn copy_on_write_is_seen_only_by_the_writer() {
        let t = template_with(0x0100, &[1, 2, 3]);
        assert_eq!(t.bytes(), PAGE_SIZE + core::mem::size_of::<Template>(), "one page and the table");
        let src = HeapPages::default();
        let mut a = PagedMemory::new(&t);
        let b = PagedMemory::new(&t);
        a.write(0x0101, 0x99, &src);
        assert_eq!((a.read(0x0101), b.read(0x0101)), (0x99, 2));
        assert_eq!(t.page(0)[0x101].load(Relaxed), 2, "the template never changes");
        assert_eq!(a.read(0x0100), 1, "the copy keeps the rest of the page");
        assert_eq!((a.owned_pages(), b.owned_pages()), (1, 0));
        // Untouched pages read zero, from the shared zero page.
        assert!((0x0400..0x1_0000).all(|x| b.read(x as u16) == 0));
        assert!(core::ptr::eq(t.page(5), &ZERO_PAGE));
        // A second write to the owned page copies nothing.
        a.write(0x0102, 7, &src);
        assert_eq!(a.owned_pages(), 1);
        // Release gives the page back; the next copy reuses it.
        a.release(&src);
        assert_eq!((a.owned_pages(), src.free.borrow().len()), (0, 1));
        let mut c = PagedMemory::new(&t);
        c.write(0x0100, 5, &src);
        assert_eq!((c.read(0x0100), c.read(0x0101), src.free.borrow().len()), (5, 2, 0));
        // A reused (dirty) page copied from the zero page reads zero but for the write.
        c.release(&src);
        let z = Template::zero();
        let mut d = PagedMemory::new(&z);
        d.write(0x0005, 9, &src);
        assert_eq!(src.free.borrow().len(), 0, "the dirty page was reused");
        assert!((0..PAGE_SIZE as u16).all(|x| d.read(x) == if x == 5 { 9 } else { 0 }));
    }

    #[test]
    fn refused_copies_drop_the_write_and_are_recorded() {
        let t = Template::zero();
        let src = HeapPages::default();
        let mut m = PagedMemory::new(&t);
        m.set_allowance(1);
        m.write(0x1000, 1, &src);
        assert!(!m.take_refused());
        m.write(0x2000, 2, &src);
        assert!(m.take_refused());
        assert!(!m.take_refused(), "cleared by the look");
        assert_eq!((m.read(0x1000), m.read(0x2000), m.owned_pages()), (1, 0, 1));
        assert!(!m.write_bytes(0x3000, &[1], &src));
    }

    #[test]
    fn byte_runs_cross_pages_and_wrap() {
        let t = Template::zero();
        let src = HeapPages::default();
        let mut m = PagedMemory::new(&t);
        let data: std::vec::Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        assert!(m.write_bytes(0xfc00 + 0x3ff, &data[..10], &src));
        assert!(m.write_bytes(0xfff0, &data[..32], &src));
        let mut out = [0u8; 32];
        m.read_bytes(0xfff0, &mut out);
        assert_eq!(out[..], data[..32]);
        assert_eq!(m.read(0x0000), data[16], "wrapped to address 0");
        assert!(m.write_bytes(0x0500, &data, &src));
        let mut back = vec![0u8; 3000];
        m.read_bytes(0x0500, &mut back);
        assert_eq!(back, data);
        let mut flat = vec![0u8; 0x1_0000];
        m.copy_to(flat.as_mut_slice().try_into().unwrap());
        assert_eq!(flat[0x0500..0x0500 + 3000], data[..]);
    }

    #[test]
    fn instructions_and_stacks_straddle_pages() {
        // LD HL,1234h straddling 0x03FF/0x0400 (opcode on one page, operand on the
        // next); PUSH HL with SP = 0x0801 (the two bytes land on two pages); POP DE;
        // then at 0x0405: LD A,(0x07FF) ... done with HALT.
        let mut code = vec![0u8; 16];
        code[0] = 0x21; // LD HL,1234h at 0x03FE
        code[1] = 0x34;
        code[2] = 0x12;
        code[3] = 0xE5; // PUSH HL at 0x0401
        code[4] = 0xD1; // POP DE
        code[5] = 0xF3; // DI
        code[6] = 0x76; // HALT
        let t = template_with(0x03fe, &code);
        let src = HeapPages::default();
        let mut m = PagedMemory::new(&t);
        let mut cpu = Cpu::new();
        cpu.pc = 0x03fe;
        cpu.sp = 0x0801;
        let r = cpu.run(&mut PagedBus { mem: &mut m, src: &src }, 100);
        assert!(matches!(r.reason, crate::StopReason::Halted { .. }));
        assert_eq!((cpu.hl(), cpu.de(), cpu.sp), (0x1234, 0x1234, 0x0801));
        assert_eq!((m.read(0x07ff), m.read(0x0800)), (0x34, 0x12));
        assert_eq!(m.owned_pages(), 2, "the push copied both pages of the stack");
        assert!(m.is_owned(1) && m.is_owned(2));
    }

    #[test]
    fn sixteen_bit_wrap_around() {
        // At 0xFFFF: LD A,n takes its operand from 0x0000; a PUSH with SP = 0x0001
        // writes 0x0000 and 0xFFFF.
        let t = template_with(0xffff, &[0x3e]);
        let src = HeapPages::default();
        let mut m = PagedMemory::new(&t);
        assert!(m.write_bytes(0x0000, &[0x42, 0xF3, 0x76], &src));
        let mut cpu = Cpu::new();
        cpu.pc = 0xffff;
        cpu.sp = 0x0001;
        cpu.set_bc(0xBEEF);
        cpu.run(&mut PagedBus { mem: &mut m, src: &src }, 100);
        assert_eq!(cpu.a, 0x42);
        assert_eq!(cpu.pc, 0x0002);
        let mut cpu2 = Cpu::new();
        cpu2.pc = 0x0001;
        cpu2.sp = 0x0001;
        cpu2.set_bc(0xBEEF);
        assert!(m.write_bytes(0x0001, &[0xC5, 0xF3, 0x76], &src)); // PUSH BC; DI; HALT
        cpu2.run(&mut PagedBus { mem: &mut m, src: &src }, 100);
        assert_eq!((m.read(0x0000), m.read(0xffff)), (0xBE, 0xEF));
    }

    #[test]
    fn block_moves_across_pages() {
        // LDIR 0x0300 bytes from 0x0200 to 0x0A00 (three pages, straddling), then
        // LDDR them back down to 0x1FFF..0x1D00. Source bytes come from the template.
        let mut flat = vec![0u8; 0x1_0000];
        for (i, b) in flat[0x0200..0x0500].iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        let code = [
            0x21, 0x00, 0x02, // LD HL,0200h
            0x11, 0x00, 0x0A, // LD DE,0A00h
            0x01, 0x00, 0x03, // LD BC,0300h
            0xED, 0xB0, // LDIR
            0x21, 0xFF, 0x0C, // LD HL,0CFFh
            0x11, 0xFF, 0x1F, // LD DE,1FFFh
            0x01, 0x00, 0x03, // LD BC,0300h
            0xED, 0xB8, // LDDR
            0xF3, 0x76,
        ];
        flat[0x8000..0x8000 + code.len()].copy_from_slice(&code);
        let t = Template::from_flat(flat.as_slice().try_into().unwrap()).unwrap();
        let src = HeapPages::default();
        let mut m = PagedMemory::new(&t);
        let mut cpu = Cpu::new();
        cpu.pc = 0x8000;
        let r = cpu.run(&mut PagedBus { mem: &mut m, src: &src }, 10_000);
        assert!(matches!(r.reason, crate::StopReason::Halted { .. }));
        let src = &flat[0x0200..0x0500];
        let mut got = vec![0u8; 0x300];
        m.read_bytes(0x0A00, &mut got);
        assert_eq!(got, src);
        m.read_bytes(0x1D00, &mut got);
        assert_eq!(got, src);
        // Flat reference: the same program on 64 KiB of plain memory.
        let mut ram = Flat(flat.clone());
        let mut cpu2 = Cpu::new();
        cpu2.pc = 0x8000;
        let r2 = cpu2.run(&mut ram, 10_000);
        assert_eq!((r.instructions, r.tstates), (r2.instructions, r2.tstates));
        assert_eq!(cpu, cpu2);
        let mut whole = vec![0u8; 0x1_0000];
        m.copy_to(whole.as_mut_slice().try_into().unwrap());
        assert_eq!(whole, ram.0);
        // Only the destination pages (0x0A00..0x0CFF: pages 2-3; 0x1D00..0x1FFF: page 7)
        // were copied; the source and code pages are still shared.
        assert_eq!(m.owned_pages(), 3);
        assert!(m.is_owned(2) && m.is_owned(3) && m.is_owned(7));
    }

    struct Flat(std::vec::Vec<u8>);
    impl Bus for Flat {
        fn read(&mut self, a: u16) -> u8 {
            self.0[a as usize]
        }
        fn write(&mut self, a: u16, v: u8) {
            self.0[a as usize] = v
        }
        fn input(&mut self, _p: u16) -> u8 {
            0xff
        }
        fn output(&mut self, _p: u16, _v: u8) {}
    }
}
