//! The plain-data answer: what the kernel learns about the machine.
//!
//! Everything here is `Copy` and owns its data (no borrows into the blob), so the
//! kernel may copy a [`Platform`] into a static and drop the device tree mapping.
//! Field meanings follow the Devicetree Specification v0.4 (chapter 3, "Device Node
//! Requirements") and the Linux bindings named on each type.

use core::fmt;

use crate::bounded::{BoundedStr, List};
use crate::error::Error;

/// Most CPUs kept (Apple M1 Ultra has 20; QEMU virt with GICv3 up to 512, we keep 64):
/// the kernel's one core limit, [`zbeam_sched::MAX_CORES`].
pub const MAX_CPUS: usize = zbeam_sched::MAX_CORES;
/// Most RAM ranges kept from `/memory*` nodes.
pub const MAX_MEMORY: usize = 16;
/// Most reserved regions kept (`/memreserve/` plus `/reserved-memory` children).
pub const MAX_RESERVED: usize = 32;

/// A CPU physical address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysAddr(pub u64);

impl fmt::Display for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// The affinity fields of an MPIDR_EL1 value (Aff3 in bits 39:32, Aff2..Aff0 in bits
/// 23:0), as a cpu node's `reg` gives them (Linux `arm/cpus.yaml`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mpidr(u64);

impl Mpidr {
    /// The bits of MPIDR_EL1 that identify a CPU.
    pub const AFFINITY_MASK: u64 = 0xff_00ff_ffff;

    /// From a cpu node's `reg`; `None` if bits outside the affinity fields are set.
    pub fn from_reg(reg: u64) -> Option<Self> {
        (reg & !Self::AFFINITY_MASK == 0).then_some(Self(reg))
    }

    /// From a raw MPIDR_EL1 register value: keeps only the affinity fields.
    pub fn from_register(value: u64) -> Self {
        Self(value & Self::AFFINITY_MASK)
    }

    /// The affinity value.
    pub fn get(self) -> u64 {
        self.0
    }

    /// Affinity level `n` (0..=3).
    pub fn aff(self, n: u32) -> u8 {
        let shift = match n {
            0 => 0,
            1 => 8,
            2 => 16,
            _ => 32,
        };
        (self.0 >> shift) as u8
    }
}

impl fmt::Display for Mpidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A physical address range: RAM, a reserved region or an MMIO register block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Region {
    /// First byte.
    pub base: PhysAddr,
    /// Length in bytes.
    pub size: u64,
}

impl Region {
    /// One past the last byte, or `None` if that overflows 64 bits.
    pub fn end(&self) -> Option<u64> {
        self.base.0.checked_add(self.size)
    }

    /// True when `addr` lies inside.
    pub fn contains(&self, addr: PhysAddr) -> bool {
        addr.0 >= self.base.0 && addr.0 - self.base.0 < self.size
    }
}

/// Which board code the kernel should use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Board {
    /// QEMU `virt` (root compatible `linux,dummy-virt`), or a GIC + PSCI machine.
    QemuVirt,
    /// Apple Silicon booted by m1n1 (root compatible `apple,arm-platform`, `apple,t8103`, ...).
    Apple,
    /// Neither; [`Platform::validate`] refuses it.
    #[default]
    Unknown,
}

/// Why a region is reserved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReservedKind {
    /// A `/memreserve/` entry of the blob header (spec 5.3).
    #[default]
    MemReserve,
    /// A `/reserved-memory` child with a static `reg` (Linux `reserved-memory.yaml`).
    ReservedMemory {
        /// `no-map`: must not be mapped at all, not even cacheably.
        no_map: bool,
    },
}

/// A region the kernel must not use as free RAM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reserved {
    /// Where.
    pub region: Region,
    /// Why.
    pub kind: ReservedKind,
}

/// How a secondary CPU is started (Linux `arm/cpus.yaml` `enable-method`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EnableMethod {
    /// No `enable-method` (usual for the boot CPU, or a uniprocessor).
    #[default]
    None,
    /// PSCI `CPU_ON`, through the conduit in [`Platform::psci`].
    Psci,
    /// Write the entry address to `cpu-release-addr`, then `sev`.
    SpinTable {
        /// The release address; `None` when the tree says 0 (the Apple trees carry a
        /// 0 placeholder that m1n1 fills in). Never jump through a `None`.
        release_addr: Option<PhysAddr>,
    },
    /// Some other method (e.g. a vendor SMP scheme) this kernel cannot use.
    Unsupported,
}

/// Performance or efficiency core, derived by [`crate::parse`] (see `cpus.rs`): the
/// scheduler's type, so the kernel hands the tree's classes over as they are.
pub use zbeam_sched::CoreClass;

/// One CPU from `/cpus/cpu@*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpu {
    /// Its affinity, from `reg`.
    pub mpidr: Mpidr,
    /// The first `compatible` string, e.g. `arm,cortex-a72`, `apple,firestorm`.
    pub compatible: BoundedStr<32>,
    /// How to start it.
    pub enable_method: EnableMethod,
    /// `capacity-dmips-mhz` as written, if present.
    pub capacity_dmips_mhz: Option<u32>,
    /// Relative capacity: `capacity-dmips-mhz`, or 1024 when absent.
    pub capacity: u32,
    /// Index of its `cpu-map` cluster, counted across sockets in tree order; `None`
    /// when no `cpu-map` core refers to it.
    pub cluster: Option<u16>,
    /// Performance or efficiency.
    pub class: CoreClass,
    /// Its `phandle`, if any.
    pub phandle: Option<u32>,
}

/// The console UART kinds with a driver in the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UartKind {
    /// `arm,pl011` (QEMU virt).
    #[default]
    Pl011,
    /// `apple,s5l-uart` (Apple SoCs).
    AppleS5l,
}

/// An interrupt as the kernel's interrupt controller driver needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Irq {
    /// GIC shared peripheral interrupt `n` (INTID `n + 32`).
    GicSpi(u32),
    /// GIC private peripheral interrupt `n` (INTID `n + 16`).
    GicPpi(u32),
    /// Apple AIC hardware IRQ `num` on die `die` (0 on single-die AIC).
    AicIrq {
        /// Die number (AIC2 4-cell specifiers); 0 otherwise.
        die: u32,
        /// IRQ number.
        num: u32,
    },
    /// Apple FIQ source `n` (timers: 0 hv-phys, 1 hv-virt, 2 guest-phys, 3 guest-virt).
    AicFiq(u32),
}

impl Irq {
    /// The GIC INTID, for GIC interrupts.
    pub fn gic_intid(self) -> Option<u32> {
        match self {
            Irq::GicSpi(n) => n.checked_add(32),
            Irq::GicPpi(n) => n.checked_add(16),
            _ => None,
        }
    }
}

/// The console UART named by `/chosen/stdout-path`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Console {
    /// Which driver.
    pub kind: UartKind,
    /// Its registers, translated to a CPU physical address.
    pub regs: Region,
    /// Its interrupt, when it goes straight to the main interrupt controller.
    pub interrupt: Option<Irq>,
    /// The part of `stdout-path` after `:` (e.g. `115200n8`), if any.
    pub options: BoundedStr<32>,
}

/// The main interrupt controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterruptController {
    /// GICv2 (`arm,cortex-a15-gic`, `arm,gic-400`, ...): distributor and CPU interface.
    GicV2 {
        /// Distributor (GICD).
        gicd: Region,
        /// CPU interface (GICC).
        gicc: Region,
    },
    /// GICv3 (`arm,gic-v3`): distributor and the first redistributor region.
    GicV3 {
        /// Distributor (GICD).
        gicd: Region,
        /// First redistributor region (GICR); `gicr.size` covers all its frames.
        gicr: Region,
        /// `#redistributor-regions` (1 when absent); only the first is reported.
        redistributor_regions: u32,
    },
    /// Apple AIC (`apple,aic`, M1 t8103).
    AppleAic {
        /// Register block.
        regs: Region,
        /// `#interrupt-cells` (3).
        cells: u32,
    },
    /// Apple AIC2 (`apple,aic2`, M1 Pro/Max t600x).
    AppleAic2 {
        /// Main register block (`reg-names` "core").
        regs: Region,
        /// The separate event register (`reg-names` "event"); reading it acknowledges
        /// and masks an IRQ.
        event: Region,
        /// `#interrupt-cells` (4: type, die, number, flags).
        cells: u32,
    },
}

/// The architected timer's interrupts (`arm,armv8-timer`, Linux `arm,arch_timer.yaml`).
///
/// At EL1 use `virt` (or `phys`); at EL2 with VHE (Apple) the EL1 timer registers
/// are redirected to the EL2 timers, whose interrupts are `hyp_virt` / `hyp_phys`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timer {
    /// Secure physical timer.
    pub sec_phys: Option<Irq>,
    /// Non-secure EL1 physical timer.
    pub phys: Option<Irq>,
    /// EL1 virtual timer.
    pub virt: Option<Irq>,
    /// EL2 physical timer.
    pub hyp_phys: Option<Irq>,
    /// EL2 virtual timer.
    pub hyp_virt: Option<Irq>,
}

/// The PSCI conduit (Linux `arm/psci.yaml` `method`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PsciMethod {
    /// No `/psci` node (Apple).
    #[default]
    None,
    /// `hvc #0`.
    Hvc,
    /// `smc #0`.
    Smc,
}

/// Why an optional part is missing, kept for [`Platform::validate`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Issues {
    pub(crate) console: Option<Error>,
    pub(crate) interrupt_controller: Option<Error>,
    pub(crate) timer: Option<Error>,
    pub(crate) initrd: Option<Error>,
}

/// Everything [`crate::parse`] learns about the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Platform {
    /// Which board code to use.
    pub board: Board,
    /// The root `model` string (may be empty).
    pub model: BoundedStr<64>,
    /// RAM ranges from `/memory*` nodes (`device_type = "memory"`), in tree order.
    pub memory: List<Region, MAX_MEMORY>,
    /// `/memreserve/` entries, then `/reserved-memory` children with a `reg`.
    pub reserved: List<Reserved, MAX_RESERVED>,
    /// The CPUs, in tree order.
    pub cpus: List<Cpu, MAX_CPUS>,
    /// The console UART, or `None` (see [`Platform::validate`] for why).
    pub console: Option<Console>,
    /// The main interrupt controller, or `None`.
    pub interrupt_controller: Option<InterruptController>,
    /// The architected timer's interrupts, or `None`.
    pub timer: Option<Timer>,
    /// PSCI conduit.
    pub psci: PsciMethod,
    /// `/chosen/bootargs` (cut to 256 bytes; see [`BoundedStr::truncated`]).
    pub bootargs: BoundedStr<256>,
    /// The initial RAM disk from `/chosen` `linux,initrd-start`/`-end` (QEMU's
    /// `-initrd`), or `None`: absent, or malformed (see [`Platform::initrd_error`]).
    pub initrd: Option<Region>,
    /// The header's `boot_cpuid_phys` (spec 5.2; often 0 and not trustworthy).
    pub boot_cpuid_phys: u32,
    pub(crate) issues: Issues,
}

impl Platform {
    /// Number of CPUs found.
    pub fn cpu_count(&self) -> usize {
        self.cpus.len()
    }

    /// Index in [`Platform::cpus`] of the CPU with this MPIDR (pass the raw
    /// MPIDR_EL1 of the running core; non-affinity bits are ignored).
    pub fn boot_cpu_index(&self, mpidr: u64) -> Option<usize> {
        let want = Mpidr::from_register(mpidr);
        self.cpus.iter().position(|c| c.mpidr == want)
    }

    /// One letter per CPU in tree order, `P` or `E` (e.g. `"EEEEPPPP"` on M1).
    pub fn classes(&self) -> BoundedStr<MAX_CPUS> {
        let mut buf = [0u8; MAX_CPUS];
        for (slot, cpu) in buf.iter_mut().zip(self.cpus.iter()) {
            *slot = match cpu.class {
                CoreClass::Performance => b'P',
                CoreClass::Efficiency => b'E',
            };
        }
        let text = buf.get(..self.cpus.len()).and_then(|b| core::str::from_utf8(b).ok());
        BoundedStr::from_str_truncating(text.unwrap_or(""))
    }

    /// Sum of the RAM range sizes (saturating), before reservations.
    pub fn ram_total(&self) -> u64 {
        self.memory.iter().fold(0u64, |acc, r| acc.saturating_add(r.size))
    }

    /// Checks that the kernel has what it needs to run: a known board, RAM, an
    /// interrupt controller, a timer and a console, in that order; the error says
    /// which is missing and why. [`crate::parse`] returns a `Platform` even when
    /// these are missing so the kernel can still print on whatever console exists.
    pub fn validate(&self) -> Result<(), Error> {
        if self.board == Board::Unknown {
            return Err(Error::UnknownBoard);
        }
        if self.ram_total() == 0 {
            return Err(Error::NoMemory);
        }
        if self.interrupt_controller.is_none() {
            return Err(self.issues.interrupt_controller.unwrap_or(Error::NoInterruptController));
        }
        if self.timer.is_none() {
            return Err(self.issues.timer.unwrap_or(Error::NoTimer));
        }
        if self.console.is_none() {
            return Err(self.issues.console.unwrap_or(Error::NoConsole));
        }
        Ok(())
    }

    /// Why [`Platform::initrd`] is `None` although `/chosen` names one (`None` when
    /// it is fine or absent). Never fatal: the kernel boots without it.
    pub fn initrd_error(&self) -> Option<Error> {
        self.issues.initrd
    }

    /// Why [`Platform::console`] is `None` (`None` when there is a console).
    pub fn console_error(&self) -> Option<Error> {
        self.console.is_none().then(|| self.issues.console.unwrap_or(Error::NoConsole))
    }
}
