//! CPUs: `/cpus/cpu@*`, their enable methods, `cpu-map` clusters and P/E classes.
//!
//! Bindings: Devicetree Specification v0.4, 3.7 and 3.8 (`/cpus`, cpu nodes); Linux
//! `Documentation/devicetree/bindings/arm/cpus.yaml` (`reg` is the MPIDR affinity,
//! `enable-method`, `cpu-release-addr`, `capacity-dmips-mhz`) and `cpu/cpu-topology.txt`
//! (`cpu-map` with optional `socketN`, `clusterN`, `coreN`, `threadN`; `cpu = <phandle>`).
//!
//! Class (DESIGN.md rule 4, never MPIDR bit tricks): when the CPUs' capacities differ,
//! the largest capacity is Performance and every smaller one Efficiency; otherwise a
//! known Apple core compatible decides (`apple,firestorm`/`apple,avalanche` P,
//! `apple,icestorm`/`apple,blizzard` E); otherwise every core is Performance.

use crate::bounded::{BoundedStr, List};
use crate::error::Error;
use crate::tree::{base_name, children, prop, prop_str, prop_u32, take_cells, Node, Tree, MAX_DEPTH};
use crate::types::{CoreClass, Cpu, EnableMethod, Mpidr, PhysAddr, MAX_CPUS};

/// Capacity of a CPU without `capacity-dmips-mhz` (Linux `SCHED_CAPACITY_SCALE`).
pub const DEFAULT_CAPACITY: u32 = 1024;

const P_COMPATIBLES: &[&str] = &["apple,firestorm", "apple,avalanche"];
const E_COMPATIBLES: &[&str] = &["apple,icestorm", "apple,blizzard"];

/// Reads every CPU under `/cpus`, then clusters and classes.
pub(crate) fn parse(tree: &Tree<'_>) -> Result<List<Cpu, MAX_CPUS>, Error> {
    let chain = tree.lookup("/cpus")?.ok_or(Error::MissingNode("/cpus"))?;
    let cpus_node = chain.last().ok_or(Error::MissingNode("/cpus"))?;
    let address_cells = prop_u32(cpus_node, "#address-cells", "/cpus")?.unwrap_or(1);
    if !(1..=2).contains(&address_cells) {
        return Err(Error::UnsupportedCells { node: "/cpus", cells: address_cells });
    }

    let mut cpus: List<Cpu, MAX_CPUS> = List::new();
    let mut cpu_map = None;
    for child in children(cpus_node)? {
        let child = child?;
        match base_name(child)? {
            "cpu-map" => cpu_map = Some(child),
            "cpu" if prop_str(child, "device_type", "cpu")? == Some("cpu") => {
                let cpu = read_cpu(child, address_cells)?;
                if cpus.iter().any(|c| c.mpidr == cpu.mpidr) {
                    return Err(Error::DuplicateCpu { mpidr: cpu.mpidr });
                }
                cpus.push(cpu).map_err(|_| Error::TooMany { what: "CPUs", capacity: MAX_CPUS })?;
            }
            _ => {}
        }
    }
    if cpus.is_empty() {
        return Err(Error::NoCpus);
    }
    if let Some(map) = cpu_map {
        let mut next_cluster = 0u16;
        assign_clusters(map, cpus.as_mut_slice(), &mut next_cluster, 0)?;
    }
    classify(cpus.as_mut_slice());
    Ok(cpus)
}

fn read_cpu(node: Node<'_>, address_cells: u32) -> Result<Cpu, Error> {
    let bad_reg = Error::BadProperty { node: "cpu", property: "reg" };
    let reg = prop(node, "reg")?.ok_or(bad_reg)?;
    let (value, _) = take_cells(reg, address_cells).ok_or(bad_reg)?;
    let mpidr = Mpidr::from_reg(value).ok_or(bad_reg)?;

    let compatible = prop_str(node, "compatible", "cpu")?.unwrap_or("");
    let enable_method = match prop_str(node, "enable-method", "cpu")? {
        None => EnableMethod::None,
        Some("psci") => EnableMethod::Psci,
        Some("spin-table") => {
            let raw = prop(node, "cpu-release-addr")?.ok_or(Error::SpinTableWithoutReleaseAddr { mpidr })?;
            let bad = Error::BadProperty { node: "cpu", property: "cpu-release-addr" };
            let cells = match raw.len() {
                8 => 2,
                4 => 1,
                _ => return Err(bad),
            };
            let (addr, _) = take_cells(raw, cells).ok_or(bad)?;
            EnableMethod::SpinTable { release_addr: (addr != 0).then_some(PhysAddr(addr)) }
        }
        Some(_) => EnableMethod::Unsupported,
    };
    let capacity_dmips_mhz = prop_u32(node, "capacity-dmips-mhz", "cpu")?;
    let phandle = match prop_u32(node, "phandle", "cpu")? {
        Some(p) => Some(p),
        None => prop_u32(node, "linux,phandle", "cpu")?,
    };
    Ok(Cpu {
        mpidr,
        compatible: BoundedStr::from_str_truncating(compatible),
        enable_method,
        capacity_dmips_mhz,
        capacity: capacity_dmips_mhz.unwrap_or(DEFAULT_CAPACITY),
        cluster: None,
        class: CoreClass::Performance,
        phandle,
    })
}

/// Walks `cpu-map` (or a socket or cluster below it). Each cluster that directly
/// holds cores gets the next index, in tree order across sockets.
fn assign_clusters(node: Node<'_>, cpus: &mut [Cpu], next_cluster: &mut u16, depth: usize) -> Result<(), Error> {
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    let mut this_cluster: Option<u16> = None;
    for child in children(node)? {
        let child = child?;
        let name = base_name(child)?;
        if name.starts_with("socket") || name.starts_with("cluster") {
            assign_clusters(child, cpus, next_cluster, depth + 1)?;
        } else if name.starts_with("core") {
            let index = match this_cluster {
                Some(i) => i,
                None => {
                    let i = *next_cluster;
                    *next_cluster = next_cluster.saturating_add(1);
                    this_cluster = Some(i);
                    i
                }
            };
            mark_core(child, cpus, index)?;
        }
    }
    Ok(())
}

/// A `coreN` node: its own `cpu`, or the `cpu` of each `threadN` child.
fn mark_core(core: Node<'_>, cpus: &mut [Cpu], cluster: u16) -> Result<(), Error> {
    if let Some(phandle) = prop_u32(core, "cpu", "cpu-map")? {
        set_cluster(cpus, phandle, cluster);
    }
    for thread in children(core)? {
        let thread = thread?;
        if base_name(thread)?.starts_with("thread") {
            if let Some(phandle) = prop_u32(thread, "cpu", "cpu-map")? {
                set_cluster(cpus, phandle, cluster);
            }
        }
    }
    Ok(())
}

fn set_cluster(cpus: &mut [Cpu], phandle: u32, cluster: u16) {
    for cpu in cpus.iter_mut().filter(|c| c.phandle == Some(phandle)) {
        cpu.cluster = Some(cluster);
    }
}

/// Sets [`Cpu::class`] for every CPU (rule in the module documentation).
pub(crate) fn classify(cpus: &mut [Cpu]) {
    let max = cpus.iter().map(|c| c.capacity).max().unwrap_or(DEFAULT_CAPACITY);
    let min = cpus.iter().map(|c| c.capacity).min().unwrap_or(DEFAULT_CAPACITY);
    let known = |c: &Cpu| {
        let s = c.compatible.as_str();
        P_COMPATIBLES.contains(&s) || E_COMPATIBLES.contains(&s)
    };
    let by_compatible = cpus.iter().all(known);
    for cpu in cpus.iter_mut() {
        cpu.class = if max != min {
            if cpu.capacity == max {
                CoreClass::Performance
            } else {
                CoreClass::Efficiency
            }
        } else if by_compatible && E_COMPATIBLES.contains(&cpu.compatible.as_str()) {
            CoreClass::Efficiency
        } else {
            CoreClass::Performance
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(compatible: &str, capacity: Option<u32>) -> Cpu {
        Cpu {
            compatible: BoundedStr::from_str_truncating(compatible),
            capacity_dmips_mhz: capacity,
            capacity: capacity.unwrap_or(DEFAULT_CAPACITY),
            ..Cpu::default()
        }
    }

    fn letters(cpus: &[Cpu]) -> [char; 4] {
        let mut out = ['?'; 4];
        for (o, c) in out.iter_mut().zip(cpus) {
            *o = if c.class == CoreClass::Performance { 'P' } else { 'E' };
        }
        out
    }

    #[test]
    fn capacity_beats_compatible() {
        // Capacities say the "icestorm" pair is faster: capacity wins.
        let mut cpus = [
            cpu("apple,icestorm", Some(1024)),
            cpu("apple,icestorm", Some(1024)),
            cpu("apple,firestorm", Some(500)),
            cpu("apple,firestorm", Some(500)),
        ];
        classify(&mut cpus);
        assert_eq!(letters(&cpus), ['P', 'P', 'E', 'E']);
    }

    #[test]
    fn compatible_decides_when_capacities_are_equal() {
        let mut cpus = [
            cpu("apple,blizzard", None),
            cpu("apple,avalanche", None),
            cpu("apple,blizzard", None),
            cpu("apple,avalanche", None),
        ];
        classify(&mut cpus);
        assert_eq!(letters(&cpus), ['E', 'P', 'E', 'P']);
    }

    #[test]
    fn unknown_cores_are_all_performance() {
        let mut cpus = [
            cpu("arm,cortex-a72", None),
            cpu("arm,cortex-a53", None),
            cpu("apple,icestorm", None),
            cpu("arm,cortex-a72", Some(1024)),
        ];
        classify(&mut cpus);
        assert_eq!(letters(&cpus), ['P', 'P', 'P', 'P']);
    }

    #[test]
    fn missing_capacity_counts_as_1024() {
        let mut cpus = [
            cpu("arm,cortex-a72", None),
            cpu("arm,cortex-a72", Some(1024)),
            cpu("arm,cortex-a53", Some(400)),
            cpu("arm,cortex-a53", Some(400)),
        ];
        classify(&mut cpus);
        assert_eq!(letters(&cpus), ['P', 'P', 'E', 'E']);
    }
}
