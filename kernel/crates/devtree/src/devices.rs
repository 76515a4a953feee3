//! Devices: one walk over the tree finds the interrupt controller, the timer, a
//! fallback UART, PSCI, RAM and reserved memory; then each is decoded.
//!
//! Bindings (Linux `Documentation/devicetree/bindings/`):
//! `interrupt-controller/arm,gic.yaml` (GICv2: reg = GICD, GICC[, GICH, GICV]; 3-cell
//! specifiers `<type number flags>`, type 0 SPI, 1 PPI), `arm,gic-v3.yaml` (reg = GICD,
//! GICR regions...; `#redistributor-regions`), `apple,aic.yaml` (3 cells `<type number
//! flags>`, type 0 IRQ, 1 FIQ), `apple,aic2.yaml` (3 cells `<type number flags>` on
//! single-die chips, 4 cells `<type die number flags>` on multi-die ones; `reg-names`
//! "core" and "event"), `timer/arm,arch_timer.yaml` (interrupts in the
//! order sec-phys, phys, virt, hyp-phys, hyp-virt unless `interrupt-names` says
//! otherwise), `arm/psci.yaml` (`method`), `reserved-memory/reserved-memory.yaml`.
//! Devicetree Specification v0.4: 3.4 `/memory`, 3.6 `/chosen` (`stdout-path`, whose
//! value may end in `:options`), 3.3 `/aliases`.

use crate::bounded::{BoundedStr, List};
use crate::error::Error;
use crate::tree::{
    base_name, compatible_with, first_string, interrupt_parent, is_enabled, prop, prop_str, prop_u32, strings,
    take_cells, Chain, Tree,
};
use crate::types::{
    Console, InterruptController, Irq, PhysAddr, PsciMethod, Region, Reserved, ReservedKind, Timer, UartKind,
    MAX_MEMORY, MAX_RESERVED,
};

const GIC_V2: &[&str] = &["arm,cortex-a15-gic", "arm,gic-400", "arm,cortex-a9-gic", "arm,cortex-a7-gic", "arm,pl390"];
const GIC_V3: &[&str] = &["arm,gic-v3"];
const AIC: &[&str] = &["apple,aic"];
const AIC2: &[&str] = &["apple,aic2"];
const TIMER: &[&str] = &["arm,armv8-timer", "arm,armv7-timer"];
const PL011: &[&str] = &["arm,pl011"];
const S5L: &[&str] = &["apple,s5l-uart"];
const PSCI: &[&str] = &["arm,psci", "arm,psci-0.2", "arm,psci-1.0"];

/// What the single walk collects.
pub(crate) struct Survey<'a> {
    pub intc: Option<Chain<'a>>,
    pub timer: Option<Chain<'a>>,
    pub uart: Option<Chain<'a>>,
    pub psci: Option<Chain<'a>>,
    pub memory: List<Region, MAX_MEMORY>,
    pub reserved: List<Reserved, MAX_RESERVED>,
}

fn is_intc(chain: &Chain<'_>) -> Result<bool, Error> {
    let Some(node) = chain.last() else {
        return Ok(false);
    };
    Ok(prop(node, "interrupt-controller")?.is_some()
        && is_enabled(node)?
        && (compatible_with(node, GIC_V2)?
            || compatible_with(node, GIC_V3)?
            || compatible_with(node, AIC)?
            || compatible_with(node, AIC2)?))
}

/// Walks the tree once. The interrupt controller is the one the root's
/// `interrupt-parent` names when that is a supported controller, else the first
/// supported controller in tree order.
pub(crate) fn survey<'a>(tree: &Tree<'a>) -> Result<Survey<'a>, Error> {
    let root_parent = prop_u32(tree.root(), "interrupt-parent", "/")?;
    let mut s = Survey { intc: None, timer: None, uart: None, psci: None, memory: List::new(), reserved: List::new() };
    let mut preferred_intc = None;
    tree.walk(&mut |chain| {
        let Some(node) = chain.last() else {
            return Ok(());
        };
        let depth = chain.depth();
        if depth == 1 && prop_str(node, "device_type", "memory")? == Some("memory") {
            if is_enabled(node)? {
                add_memory(chain, &mut s.memory)?;
            }
            return Ok(());
        }
        if depth == 2 {
            if let Some(parent) = chain.parent() {
                if base_name(parent)? == "reserved-memory" {
                    add_reserved(chain, &mut s.reserved)?;
                    return Ok(());
                }
            }
        }
        if is_intc(chain)? {
            if s.intc.is_none() {
                s.intc = Some(*chain);
            }
            let phandle = prop_u32(node, "phandle", "interrupt controller")?;
            if preferred_intc.is_none() && root_parent.is_some() && phandle == root_parent {
                preferred_intc = Some(*chain);
            }
        } else if s.timer.is_none() && compatible_with(node, TIMER)? {
            s.timer = Some(*chain);
        } else if s.uart.is_none()
            && (compatible_with(node, PL011)? || compatible_with(node, S5L)?)
            && is_enabled(node)?
        {
            s.uart = Some(*chain);
        } else if s.psci.is_none() && depth == 1 && (base_name(node)? == "psci" || compatible_with(node, PSCI)?) {
            s.psci = Some(*chain);
        }
        Ok(())
    })?;
    if preferred_intc.is_some() {
        s.intc = preferred_intc;
    }
    Ok(s)
}

fn add_memory(chain: &Chain<'_>, memory: &mut List<Region, MAX_MEMORY>) -> Result<(), Error> {
    for pair in chain.regs("memory")? {
        let (base, size) = pair?;
        if size == 0 {
            continue;
        }
        memory
            .push(Region { base: PhysAddr(base), size })
            .map_err(|_| Error::TooMany { what: "memory ranges", capacity: MAX_MEMORY })?;
    }
    Ok(())
}

fn add_reserved(chain: &Chain<'_>, reserved: &mut List<Reserved, MAX_RESERVED>) -> Result<(), Error> {
    let Some(node) = chain.last() else {
        return Ok(());
    };
    if !is_enabled(node)? {
        return Ok(());
    }
    let no_map = prop(node, "no-map")?.is_some();
    for pair in chain.regs("reserved-memory")? {
        let (base, size) = pair?;
        push_reserved(
            reserved,
            Reserved { region: Region { base: PhysAddr(base), size }, kind: ReservedKind::ReservedMemory { no_map } },
        )?;
    }
    Ok(())
}

pub(crate) fn push_reserved(reserved: &mut List<Reserved, MAX_RESERVED>, r: Reserved) -> Result<(), Error> {
    reserved.push(r).map_err(|_| Error::TooMany { what: "reserved regions", capacity: MAX_RESERVED })
}

/// The controller found by [`survey`], decoded, with what devices need to decode
/// their `interrupts`.
#[derive(Clone, Copy)]
pub(crate) struct Intc {
    pub controller: InterruptController,
    pub phandle: Option<u32>,
    pub cells: u32,
}

/// Up to four translated `reg` entries.
fn regs4(chain: &Chain<'_>, role: &'static str) -> Result<([Region; 4], usize), Error> {
    let mut out = [Region::default(); 4];
    let mut n = 0;
    for (slot, pair) in out.iter_mut().zip(chain.regs(role)?) {
        let (base, size) = pair?;
        *slot = Region { base: PhysAddr(base), size };
        n += 1;
    }
    Ok((out, n))
}

/// Decodes the interrupt controller at `chain`.
pub(crate) fn interrupt_controller(chain: &Chain<'_>) -> Result<Intc, Error> {
    const ROLE: &str = "interrupt controller";
    let node = chain.last().ok_or(Error::NoInterruptController)?;
    let bad_reg = Error::BadProperty { node: ROLE, property: "reg" };
    let (regs, n) = regs4(chain, ROLE)?;
    let cells = prop_u32(node, "#interrupt-cells", ROLE)?
        .ok_or(Error::BadProperty { node: ROLE, property: "#interrupt-cells" })?;
    let controller = if compatible_with(node, GIC_V3)? {
        if n < 2 {
            return Err(bad_reg);
        }
        InterruptController::GicV3 {
            gicd: regs[0],
            gicr: regs[1],
            redistributor_regions: prop_u32(node, "#redistributor-regions", ROLE)?.unwrap_or(1),
        }
    } else if compatible_with(node, GIC_V2)? {
        if n < 2 {
            return Err(bad_reg);
        }
        InterruptController::GicV2 { gicd: regs[0], gicc: regs[1] }
    } else if compatible_with(node, AIC2)? {
        let names = prop(node, "reg-names")?.unwrap_or(&[]);
        let index_of = |want: &str| strings(names).position(|s| s == want);
        let core = index_of("core").unwrap_or(0);
        let event = index_of("event").unwrap_or(1);
        match (regs.get(core), regs.get(event)) {
            (Some(&core_r), Some(&event_r)) if core < n && event < n => {
                InterruptController::AppleAic2 { regs: core_r, event: event_r, cells }
            }
            _ => return Err(bad_reg),
        }
    } else if compatible_with(node, AIC)? {
        if n < 1 {
            return Err(bad_reg);
        }
        InterruptController::AppleAic { regs: regs[0], cells }
    } else {
        return Err(Error::NoInterruptController);
    };
    // Every binding here has at least `<type number flags>` (AIC2 may add a die cell).
    if cells < 3 {
        return Err(Error::BadProperty { node: ROLE, property: "#interrupt-cells" });
    }
    let phandle = match prop_u32(node, "phandle", ROLE)? {
        Some(p) => Some(p),
        None => prop_u32(node, "linux,phandle", ROLE)?,
    };
    Ok(Intc { controller, phandle, cells })
}

impl Intc {
    /// Decodes one specifier (`self.cells` cells).
    fn decode(&self, spec: &[u8]) -> Option<Irq> {
        let cell = |i: usize| {
            let b = spec.get(i * 4..i * 4 + 4)?;
            take_cells(b, 1).map(|(v, _)| v as u32)
        };
        match self.controller {
            InterruptController::GicV2 { .. } | InterruptController::GicV3 { .. } => match (cell(0)?, cell(1)?) {
                (0, n) => Some(Irq::GicSpi(n)),
                (1, n) => Some(Irq::GicPpi(n)),
                _ => None,
            },
            InterruptController::AppleAic { .. } | InterruptController::AppleAic2 { .. } => {
                let (die, num) = if self.cells >= 4 { (cell(1)?, cell(2)?) } else { (0, cell(1)?) };
                match cell(0)? {
                    0 => Some(Irq::AicIrq { die, num }),
                    1 => Some(Irq::AicFiq(num)),
                    _ => None,
                }
            }
        }
    }

    /// True when the node's interrupts go to this controller: its effective
    /// `interrupt-parent` is this controller, or nothing names any parent.
    fn serves(&self, chain: &Chain<'_>) -> Result<bool, Error> {
        Ok(match interrupt_parent(chain)? {
            None => true,
            Some(p) => self.phandle == Some(p),
        })
    }

    /// The specifiers of the node's `interrupts`, decoded (undecodable ones as `None`).
    fn interrupts<'c>(&self, chain: &Chain<'c>) -> Result<impl Iterator<Item = Option<Irq>> + 'c, Error> {
        let node = chain.last().ok_or(Error::Malformed("empty node chain"))?;
        let value = if self.serves(chain)? { prop(node, "interrupts")?.unwrap_or(&[]) } else { &[] };
        let this = *self;
        let stride = self.cells as usize * 4;
        Ok(value.chunks_exact(stride.max(4)).map(move |spec| this.decode(spec)))
    }
}

/// Decodes the timer node.
pub(crate) fn timer(chain: &Chain<'_>, intc: &Intc) -> Result<Timer, Error> {
    const ORDER: [&str; 5] = ["sec-phys", "phys", "virt", "hyp-phys", "hyp-virt"];
    let node = chain.last().ok_or(Error::NoTimer)?;
    let names = prop(node, "interrupt-names")?;
    let mut t = Timer::default();
    let mut any = false;
    for (i, irq) in intc.interrupts(chain)?.enumerate() {
        let name = match names {
            Some(v) => strings(v).nth(i),
            None => ORDER.get(i).copied(),
        };
        let slot = match name {
            Some("sec-phys") => &mut t.sec_phys,
            Some("phys") => &mut t.phys,
            Some("virt") => &mut t.virt,
            Some("hyp-phys") => &mut t.hyp_phys,
            Some("hyp-virt") => &mut t.hyp_virt,
            _ => continue,
        };
        *slot = irq;
        any |= irq.is_some();
    }
    if any {
        Ok(t)
    } else {
        Err(Error::NoTimer)
    }
}

/// Finds and decodes the console: `/chosen/stdout-path` (a path or an alias,
/// optionally followed by `:options`), else the first enabled supported UART.
pub(crate) fn console(tree: &Tree<'_>, fallback: Option<&Chain<'_>>, intc: Option<&Intc>) -> Result<Console, Error> {
    let chosen = tree.lookup("/chosen")?.and_then(|c| c.last());
    let stdout = match chosen {
        Some(node) => match prop_str(node, "stdout-path", "/chosen")? {
            Some(s) => Some(s),
            None => prop_str(node, "linux,stdout-path", "/chosen")?,
        },
        None => None,
    };
    let Some(stdout) = stdout else {
        let chain = fallback.ok_or(Error::NoConsole)?;
        return decode_console(chain, "", intc);
    };
    let (target, options) = stdout.split_once(':').unwrap_or((stdout, ""));
    let path = if target.starts_with('/') {
        target
    } else {
        let aliases = tree.lookup("/aliases")?.and_then(|c| c.last());
        let alias = match aliases {
            Some(a) => prop(a, target)?,
            None => None,
        };
        alias.and_then(first_string).ok_or(Error::NoSuchNode("the stdout-path alias"))?
    };
    let chain = tree.lookup(path)?.ok_or(Error::NoSuchNode("stdout-path"))?;
    decode_console(&chain, options, intc)
}

fn decode_console(chain: &Chain<'_>, options: &str, intc: Option<&Intc>) -> Result<Console, Error> {
    let node = chain.last().ok_or(Error::NoConsole)?;
    let kind = if compatible_with(node, PL011)? {
        UartKind::Pl011
    } else if compatible_with(node, S5L)? {
        UartKind::AppleS5l
    } else {
        return Err(Error::UnsupportedConsole);
    };
    let (base, size) =
        chain.regs("console")?.next().ok_or(Error::BadProperty { node: "console", property: "reg" })??;
    let interrupt = match intc {
        Some(i) => i.interrupts(chain)?.next().flatten(),
        None => None,
    };
    Ok(Console {
        kind,
        regs: Region { base: PhysAddr(base), size },
        interrupt,
        options: BoundedStr::from_str_truncating(options),
    })
}

/// The PSCI conduit from the `/psci` node's `method`.
pub(crate) fn psci(chain: Option<&Chain<'_>>) -> Result<PsciMethod, Error> {
    let Some(node) = chain.and_then(|c| c.last()) else {
        return Ok(PsciMethod::None);
    };
    match prop_str(node, "method", "psci")? {
        Some("hvc") => Ok(PsciMethod::Hvc),
        Some("smc") => Ok(PsciMethod::Smc),
        _ => Err(Error::BadProperty { node: "psci", property: "method" }),
    }
}
