//! A thin, panic-free layer over the `fdt` crate: nodes, properties, paths with
//! their ancestors, `reg` decoding and address translation through `ranges`.
//!
//! Why `fdt` 0.2.0-alpha3 in its `NoPanic` mode: `fdt` 0.1.5 (the latest stable)
//! panics (asserts, slice indexing, `expect`) on malformed structure blocks; a
//! truncation-and-bit-flip run over the test trees made 0.1.5 panic on about two
//! thirds of the mutated blobs, and 0.2.0-alpha3 (`new_unaligned_fallible`) on none.
//! Its header arithmetic can still overflow on hostile offsets, so [`crate::header`]
//! checks the header first and only a blob whose blocks lie inside it reaches `fdt`.
//!
//! Semantics follow the Devicetree Specification v0.4: 2.2.1 node names
//! (`name@unit-address`), 2.2.3 paths, 2.3.5 `#address-cells`/`#size-cells`
//! (defaults 2 and 1), 2.3.6 `reg`, 2.3.8 `ranges` (empty = identity, absent = no
//! translation), 2.4.1 `interrupt-parent` (inherited from the nearest ancestor).

use fdt::nodes::NodeName;
use fdt::parsing::{unaligned::UnalignedParser, NoPanic};

use crate::error::Error;

/// The parser mode used throughout: byte slices of any alignment, errors not panics.
pub(crate) type Mode<'a> = (UnalignedParser<'a>, NoPanic);
/// A node of the tree.
pub(crate) type Node<'a> = fdt::nodes::Node<'a, Mode<'a>>;

/// Deepest node this crate looks at (Apple's deepest useful paths are about 6 deep).
pub(crate) const MAX_DEPTH: usize = 16;

/// The parsed blob and its root node.
pub(crate) struct Tree<'a> {
    root: Node<'a>,
}

impl<'a> Tree<'a> {
    /// Opens `blob` (already checked by [`crate::header::read`] and cut to `totalsize`).
    pub(crate) fn new(blob: &'a [u8]) -> Result<Self, Error> {
        let fdt = fdt::Fdt::new_unaligned_fallible(blob)?;
        let root = fdt.find_node("/")?.ok_or(Error::Malformed("no root node"))?;
        // Touch the root's name and properties so a garbled start is caught here.
        root.name()?;
        for p in root.properties()?.iter() {
            p?;
        }
        Ok(Self { root })
    }

    /// The root node.
    pub(crate) fn root(&self) -> Node<'a> {
        self.root
    }

    /// The chain from the root to the node at `path` (an absolute path), or `None`
    /// when some component is missing. A component without `@` matches the first
    /// child with that base name (spec 2.2.3).
    pub(crate) fn lookup(&self, path: &str) -> Result<Option<Chain<'a>>, Error> {
        if !path.starts_with('/') {
            return Ok(None);
        }
        let mut chain = Chain::new(self.root);
        for component in path.split('/').filter(|c| !c.is_empty()) {
            let Some(here) = chain.last() else {
                return Ok(None);
            };
            let mut found = None;
            for child in children(here)? {
                let child = child?;
                if name_matches(child.name()?, component) {
                    found = Some(child);
                    break;
                }
            }
            match found {
                Some(child) => {
                    if chain.push(child).is_err() {
                        return Err(Error::Malformed("path nests deeper than 16 nodes"));
                    }
                }
                None => return Ok(None),
            }
        }
        Ok(Some(chain))
    }

    /// Visits every node (root first, depth first, in tree order) with the chain of
    /// its ancestors; nodes deeper than [`MAX_DEPTH`] are not visited.
    pub(crate) fn walk(&self, visit: &mut dyn FnMut(&Chain<'a>) -> Result<(), Error>) -> Result<(), Error> {
        let mut chain = Chain::new(self.root);
        visit(&chain)?;
        walk_below(&mut chain, visit)
    }
}

fn walk_below<'a>(chain: &mut Chain<'a>, visit: &mut dyn FnMut(&Chain<'a>) -> Result<(), Error>) -> Result<(), Error> {
    let Some(here) = chain.last() else {
        return Ok(());
    };
    for child in children(here)? {
        let child = child?;
        if chain.push(child).is_err() {
            // Too deep to keep ancestors for: skip this subtree.
            continue;
        }
        visit(chain)?;
        walk_below(chain, visit)?;
        chain.pop();
    }
    Ok(())
}

fn name_matches(name: NodeName<'_>, component: &str) -> bool {
    match component.split_once('@') {
        Some((base, unit)) => name.name == base && name.unit_address == Some(unit),
        None => name.name == component,
    }
}

/// The children of `node`, as results.
pub(crate) fn children<'a>(node: Node<'a>) -> Result<impl Iterator<Item = Result<Node<'a>, Error>>, Error> {
    Ok(node.children()?.iter().map(|c| c.map_err(Error::from)))
}

/// A node's name without the unit address (`cpu` for `cpu@1`; `/` for the root).
pub(crate) fn base_name<'a>(node: Node<'a>) -> Result<&'a str, Error> {
    Ok(node.name()?.name)
}

/// The raw value of property `name`, if present.
pub(crate) fn prop<'a>(node: Node<'a>, name: &str) -> Result<Option<&'a [u8]>, Error> {
    Ok(node.raw_property(name)?.map(|p| p.value))
}

/// A one-cell property.
pub(crate) fn prop_u32(node: Node<'_>, name: &'static str, role: &'static str) -> Result<Option<u32>, Error> {
    match prop(node, name)? {
        None => Ok(None),
        Some(v) => {
            let bytes: [u8; 4] = v.try_into().map_err(|_| Error::BadProperty { node: role, property: name })?;
            Ok(Some(u32::from_be_bytes(bytes)))
        }
    }
}

/// The first string of a string or string-list property.
pub(crate) fn prop_str<'a>(node: Node<'a>, name: &'static str, role: &'static str) -> Result<Option<&'a str>, Error> {
    match prop(node, name)? {
        None => Ok(None),
        Some(v) => first_string(v).map(Some).ok_or(Error::BadProperty { node: role, property: name }),
    }
}

/// The first NUL-terminated UTF-8 string of `value`.
pub(crate) fn first_string(value: &[u8]) -> Option<&str> {
    let end = value.iter().position(|&b| b == 0)?;
    core::str::from_utf8(value.get(..end)?).ok()
}

/// The strings of a string-list value (ill-formed entries are skipped).
pub(crate) fn strings(value: &[u8]) -> impl Iterator<Item = &str> {
    let body = match value.split_last() {
        Some((0, body)) => body,
        _ => &[][..],
    };
    body.split(|&b| b == 0).filter_map(|s| core::str::from_utf8(s).ok())
}

/// True when `node`'s `compatible` contains any of `wanted`.
pub(crate) fn compatible_with(node: Node<'_>, wanted: &[&str]) -> Result<bool, Error> {
    Ok(match prop(node, "compatible")? {
        Some(v) => strings(v).any(|s| wanted.contains(&s)),
        None => false,
    })
}

/// True unless `status` says the device is not usable (spec 2.3.4).
pub(crate) fn is_enabled(node: Node<'_>) -> Result<bool, Error> {
    Ok(match prop(node, "status")? {
        None => true,
        Some(v) => matches!(first_string(v), Some("okay" | "ok")),
    })
}

/// A cell-count property (`#address-cells`, ...), with its default.
pub(crate) fn cell_count(node: Node<'_>, name: &'static str, default: u32, role: &'static str) -> Result<u32, Error> {
    Ok(prop_u32(node, name, role)?.unwrap_or(default))
}

/// `#address-cells` and `#size-cells` that `node` sets for its children.
pub(crate) fn child_cells(node: Node<'_>, role: &'static str) -> Result<(u32, u32), Error> {
    let a = cell_count(node, "#address-cells", 2, role)?;
    let s = cell_count(node, "#size-cells", 1, role)?;
    if a > 2 {
        return Err(Error::UnsupportedCells { node: role, cells: a });
    }
    if s > 2 {
        return Err(Error::UnsupportedCells { node: role, cells: s });
    }
    Ok((a, s))
}

/// Reads `cells` (0..=2) big-endian cells from the front of `bytes`.
pub(crate) fn take_cells(bytes: &[u8], cells: u32) -> Option<(u64, &[u8])> {
    let n = cells as usize * 4;
    let (head, rest) = (bytes.get(..n)?, bytes.get(n..)?);
    let value = head.chunks_exact(4).fold(0u64, |acc, c| {
        let word = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        (acc << 32) | u64::from(word)
    });
    Some((value, rest))
}

/// `(address, size)` pairs of a `reg` value, for the given cell counts.
pub(crate) fn reg_pairs<'b>(
    value: &'b [u8],
    address_cells: u32,
    size_cells: u32,
    role: &'static str,
) -> Result<RegPairs<'b>, Error> {
    let stride = (address_cells + size_cells) as usize * 4;
    if stride == 0 || !value.len().is_multiple_of(stride) {
        return Err(Error::BadProperty { node: role, property: "reg" });
    }
    Ok(RegPairs { rest: value, address_cells, size_cells })
}

/// Iterator from [`reg_pairs`].
pub(crate) struct RegPairs<'b> {
    rest: &'b [u8],
    address_cells: u32,
    size_cells: u32,
}

impl Iterator for RegPairs<'_> {
    type Item = (u64, u64);
    fn next(&mut self) -> Option<(u64, u64)> {
        let (addr, rest) = take_cells(self.rest, self.address_cells)?;
        let (size, rest) = take_cells(rest, self.size_cells)?;
        self.rest = rest;
        Some((addr, size))
    }
}

/// A node and its ancestors, root first.
#[derive(Clone, Copy)]
pub(crate) struct Chain<'a> {
    nodes: [Option<Node<'a>>; MAX_DEPTH],
    len: usize,
}

impl<'a> Chain<'a> {
    fn new(root: Node<'a>) -> Self {
        let mut nodes = [None; MAX_DEPTH];
        nodes[0] = Some(root);
        Self { nodes, len: 1 }
    }

    fn push(&mut self, node: Node<'a>) -> Result<(), ()> {
        let slot = self.nodes.get_mut(self.len).ok_or(())?;
        *slot = Some(node);
        self.len += 1;
        Ok(())
    }

    fn pop(&mut self) {
        if self.len > 1 {
            self.len -= 1;
            if let Some(slot) = self.nodes.get_mut(self.len) {
                *slot = None;
            }
        }
    }

    /// Depth: 0 for the root.
    pub(crate) fn depth(&self) -> usize {
        self.len - 1
    }

    /// The node itself.
    pub(crate) fn last(&self) -> Option<Node<'a>> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    /// The `i`-th node from the root.
    pub(crate) fn get(&self, i: usize) -> Option<Node<'a>> {
        self.nodes.get(i).copied().flatten()
    }

    /// The node's parent (`None` for the root).
    pub(crate) fn parent(&self) -> Option<Node<'a>> {
        self.len.checked_sub(2).and_then(|i| self.get(i))
    }

    /// The `reg` entries of the node, translated to CPU physical addresses.
    pub(crate) fn regs(&self, role: &'static str) -> Result<TranslatedRegs<'a, '_>, Error> {
        let node = self.last().ok_or(Error::Malformed("empty node chain"))?;
        let parent = self.parent().ok_or(Error::BadProperty { node: role, property: "reg" })?;
        let (a, s) = child_cells(parent, role)?;
        let value = prop(node, "reg")?.unwrap_or(&[]);
        Ok(TranslatedRegs { chain: self, pairs: reg_pairs_or_empty(value, a, s, role)?, role })
    }

    /// Translates `addr`, an address in the node's parent bus, up to the root
    /// through each ancestor's `ranges` (spec 2.3.8).
    pub(crate) fn translate(&self, mut addr: u64, role: &'static str) -> Result<u64, Error> {
        // The bus at index `i` maps its children's addresses into bus `i - 1`.
        let mut i = self.len.saturating_sub(2);
        while i > 0 {
            let (Some(bus), Some(above)) = (self.get(i), self.get(i - 1)) else {
                break;
            };
            let ranges = prop(bus, "ranges")?.ok_or(Error::Untranslatable(role))?;
            if !ranges.is_empty() {
                let (child_a, child_s) = child_cells(bus, role)?;
                let (parent_a, _) = child_cells(above, role)?;
                addr = map_through(ranges, addr, child_a, parent_a, child_s, role)?;
            }
            i -= 1;
        }
        Ok(addr)
    }
}

fn reg_pairs_or_empty<'b>(value: &'b [u8], a: u32, s: u32, role: &'static str) -> Result<RegPairs<'b>, Error> {
    if value.is_empty() {
        return Ok(RegPairs { rest: value, address_cells: a, size_cells: s });
    }
    reg_pairs(value, a, s, role)
}

fn map_through(
    ranges: &[u8],
    addr: u64,
    child_a: u32,
    parent_a: u32,
    size_cells: u32,
    role: &'static str,
) -> Result<u64, Error> {
    let stride = (child_a + parent_a + size_cells) as usize * 4;
    if stride == 0 || !ranges.len().is_multiple_of(stride) {
        return Err(Error::BadProperty { node: role, property: "ranges" });
    }
    for entry in ranges.chunks_exact(stride) {
        let bad = Error::BadProperty { node: role, property: "ranges" };
        let (child, rest) = take_cells(entry, child_a).ok_or(bad)?;
        let (parent, rest) = take_cells(rest, parent_a).ok_or(bad)?;
        let (len, _) = take_cells(rest, size_cells).ok_or(bad)?;
        if addr >= child && addr - child < len {
            return (addr - child).checked_add(parent).ok_or(Error::Untranslatable(role));
        }
    }
    Err(Error::Untranslatable(role))
}

/// Iterator from [`Chain::regs`]: `(cpu_physical_address, size)` results.
pub(crate) struct TranslatedRegs<'a, 'c> {
    chain: &'c Chain<'a>,
    pairs: RegPairs<'a>,
    role: &'static str,
}

impl Iterator for TranslatedRegs<'_, '_> {
    type Item = Result<(u64, u64), Error>;
    fn next(&mut self) -> Option<Self::Item> {
        let (addr, size) = self.pairs.next()?;
        Some(self.chain.translate(addr, self.role).map(|a| (a, size)))
    }
}

/// The `interrupt-parent` phandle in effect for the node (its own, else the nearest
/// ancestor's), or `None` when no node on the chain has one.
pub(crate) fn interrupt_parent(chain: &Chain<'_>) -> Result<Option<u32>, Error> {
    for i in (0..=chain.depth()).rev() {
        if let Some(node) = chain.get(i) {
            if let Some(p) = prop_u32(node, "interrupt-parent", "device")? {
                return Ok(Some(p));
            }
        }
    }
    Ok(None)
}
