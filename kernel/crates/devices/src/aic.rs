//! The Apple Interrupt Controller: AIC (`apple,aic`, M1 t8103) and AIC2 (`apple,aic2`,
//! M1 Pro/Max t600x).
//!
//! Facts from the Asahi Linux documentation (HW:AIC), m1n1 (`aic_regs.h`, `aic.c`) and
//! the Linux binding `apple,aic.yaml` / driver `irq-apple-aic.c`:
//! * Hardware IRQs are level triggered with one mask bit each, in SET/CLR register
//!   pairs (a write of 1 sets or clears that bit).
//! * Reading the event register acknowledges the highest pending event and masks it
//!   (auto-ack); the handler unmasks it after servicing the device. The event word is
//!   die (31:24, AIC2), type (23:16: 1 = hardware IRQ, 4 = AIC IPI) and number (15:0);
//!   0 means nothing pending.
//! * AIC (v1): INFO 0x0004 (IRQ count 15:0), WHOAMI 0x2000 (this CPU's number), EVENT 0x2004, TARGET_CPU 0x3000 + 4n (a CPU
//!   bitmask per IRQ), SW_SET 0x4000, SW_CLR 0x4080, MASK_SET 0x4100, MASK_CLR 0x4180.
//! * AIC2: INFO1 0x0004 (IRQ count 15:0, last die 27:24), INFO3 0x000c (max IRQ 15:0,
//!   max die 27:24), CONFIG 0x0014 (bit 0 enable), IRQ_CFG 0x2000 + 4n, then SW_SET,
//!   SW_CLR, MASK_SET, MASK_CLR and HW_STATE arrays of max_irq/32 words each; that whole
//!   block repeats per die. The event register is a separate region named in the tree.
//!   AIC2 has no per-IRQ CPU affinity: delivery follows the IRQ_CFG target group that
//!   firmware set up.
//! * The INFO and event words' fields are tock-registers bitfields; AIC2 CONFIG's
//!   enable bit is a bitflags set.
//! * Timers and fast IPIs bypass the AIC entirely and arrive as FIQs (see the kernel's
//!   FIQ handler).

use crate::RegisterBus;
use tock_registers::{register_bitfields, LocalRegisterCopy};

const AIC_INFO: usize = 0x0004;
const AIC_WHOAMI: usize = 0x2000;
const AIC_EVENT: usize = 0x2004;
const AIC_TARGET_CPU: usize = 0x3000;
const AIC_SW_CLR: usize = 0x4080;
const AIC_MASK_SET: usize = 0x4100;
const AIC_MASK_CLR: usize = 0x4180;
/// AIC (v1) IRQ numbers are below this.
pub const AIC1_MAX_IRQ: u32 = 0x400;

const AIC2_INFO1: usize = 0x0004;
const AIC2_INFO3: usize = 0x000c;
const AIC2_CONFIG: usize = 0x0014;
const AIC2_IRQ_CFG: usize = 0x2000;
/// Largest IRQ count per die this driver accepts (M1 Max reports 0x1000 = 0x80 words).
pub const AIC2_MAX_IRQ: u32 = 0x80 * 32;
/// Most dies this driver accepts.
pub const AIC2_MAX_DIES: u32 = 4;

register_bitfields! {
    u32,
    /// AIC (v1) INFO.
    Info [
        /// Number of hardware IRQs.
        NR_IRQ OFFSET(0) NUMBITS(16) []
    ],
    /// AIC2 INFO1 (IRQs present) and INFO3 (the register arrays' size), which share
    /// their layout.
    Info2 [
        /// The last die's number (dies present - 1) in INFO1; the most dies in INFO3.
        LAST_DIE OFFSET(24) NUMBITS(4) [],
        /// IRQs per die: present (INFO1) or the arrays' size (INFO3).
        NR_IRQ OFFSET(0) NUMBITS(16) []
    ],
    /// The event register: reading it acknowledges the event it names (0 = none).
    EventWord [
        /// Die (AIC2; 0 on AIC).
        DIE OFFSET(24) NUMBITS(8) [],
        /// What happened.
        TYPE OFFSET(16) NUMBITS(8) [
            /// A hardware IRQ.
            Hw = 1,
            /// An AIC IPI.
            Ipi = 4
        ],
        /// IRQ or IPI number.
        NUM OFFSET(0) NUMBITS(16) []
    ]
}

bitflags::bitflags! {
    /// AIC2 CONFIG.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Aic2Config: u32 {
        /// Bit 0: the controller delivers events.
        const ENABLE = 1;
        // The other bits are kept as read.
        const _ = !0;
    }
}

/// One acknowledged event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Hardware IRQ `num` on `die`; it stays masked until [`Aic::unmask`].
    Hw {
        /// Die number (0 on single-die parts).
        die: u32,
        /// IRQ number.
        num: u32,
    },
    /// An AIC IPI (`num` 1 = from another CPU, 2 = self).
    Ipi(u32),
    /// An event type this driver does not know.
    Other(u32),
}

/// Why the controller could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AicError {
    /// INFO reports no IRQs or more than the driver's limit.
    BadIrqCount(u32),
    /// AIC2 reports more dies than the driver's limit.
    BadDieCount(u32),
    /// An IRQ number out of range for this controller.
    NoSuchIrq {
        /// Die.
        die: u32,
        /// IRQ.
        num: u32,
    },
}

impl core::fmt::Display for AicError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AicError::BadIrqCount(n) => write!(f, "AIC reports {n} IRQs (unsupported)"),
            AicError::BadDieCount(n) => write!(f, "AIC2 reports {n} dies (unsupported)"),
            AicError::NoSuchIrq { die, num } => write!(f, "no AIC IRQ {num} on die {die}"),
        }
    }
}

/// Which AIC generation, with the layout derived from its INFO registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// AIC (v1): fixed offsets, per-IRQ CPU targets.
    V1 {
        /// Number of hardware IRQs.
        nr_irq: u32,
    },
    /// AIC2: offsets computed from max_irq, repeated per die.
    V2 {
        /// Number of hardware IRQs per die.
        nr_irq: u32,
        /// Dies present.
        nr_die: u32,
        /// Size of one register-array block (IRQ_CFG included).
        max_irq: u32,
        /// Offset of the event register from the main base.
        event: usize,
    },
}

/// An AIC or AIC2 on a register bus.
pub struct Aic<B> {
    bus: B,
    layout: Layout,
}

impl<B: RegisterBus> Aic<B> {
    /// Probes an AIC (v1) and masks every IRQ.
    pub fn new_v1(bus: B) -> Result<Self, AicError> {
        let nr_irq = LocalRegisterCopy::<u32, Info::Register>::new(bus.read32(AIC_INFO)).read(Info::NR_IRQ);
        if nr_irq == 0 || nr_irq > AIC1_MAX_IRQ {
            return Err(AicError::BadIrqCount(nr_irq));
        }
        let aic = Aic { bus, layout: Layout::V1 { nr_irq } };
        aic.mask_all();
        Ok(aic)
    }

    /// Probes an AIC2 whose event register sits `event_offset` bytes after the main
    /// base (the tree names both), masks every IRQ and enables the controller.
    pub fn new_v2(bus: B, event_offset: usize) -> Result<Self, AicError> {
        let info1 = LocalRegisterCopy::<u32, Info2::Register>::new(bus.read32(AIC2_INFO1));
        let info3 = LocalRegisterCopy::<u32, Info2::Register>::new(bus.read32(AIC2_INFO3));
        let nr_irq = info1.read(Info2::NR_IRQ);
        let nr_die = info1.read(Info2::LAST_DIE) + 1;
        let max_irq = info3.read(Info2::NR_IRQ);
        if nr_irq == 0 || max_irq == 0 || nr_irq > max_irq || max_irq > AIC2_MAX_IRQ || !max_irq.is_multiple_of(32) {
            return Err(AicError::BadIrqCount(nr_irq.max(max_irq)));
        }
        if nr_die > AIC2_MAX_DIES {
            return Err(AicError::BadDieCount(nr_die));
        }
        let aic = Aic { bus, layout: Layout::V2 { nr_irq, nr_die, max_irq, event: event_offset } };
        aic.mask_all();
        let cfg = Aic2Config::from_bits_retain(aic.bus.read32(AIC2_CONFIG));
        aic.bus.write32(AIC2_CONFIG, (cfg | Aic2Config::ENABLE).bits());
        Ok(aic)
    }

    /// This CPU's index in the AIC's CPU numbering (AIC v1 WHOAMI, 0x2000), the bit to
    /// use in [`Aic::enable`]'s `cpu_mask`; `None` on AIC2, which has no per-CPU targets.
    pub fn whoami(&self) -> Option<u32> {
        match self.layout {
            Layout::V1 { .. } => Some(self.bus.read32(AIC_WHOAMI)),
            Layout::V2 { .. } => None,
        }
    }

    /// The layout found at probe time.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// (sw_set, sw_clr, mask_set, mask_clr) offsets for `die`.
    fn arrays(&self, die: u32) -> (usize, usize, usize, usize) {
        match self.layout {
            Layout::V1 { .. } => (0x4000, AIC_SW_CLR, AIC_MASK_SET, AIC_MASK_CLR),
            Layout::V2 { max_irq, .. } => {
                let words = (max_irq / 32) as usize * 4;
                let stride = max_irq as usize * 4 + 5 * words;
                let sw_set = AIC2_IRQ_CFG + die as usize * stride + max_irq as usize * 4;
                (sw_set, sw_set + words, sw_set + 2 * words, sw_set + 3 * words)
            }
        }
    }

    fn dies_and_irqs(&self) -> (u32, u32) {
        match self.layout {
            Layout::V1 { nr_irq } => (1, nr_irq),
            Layout::V2 { nr_irq, nr_die, .. } => (nr_die, nr_irq),
        }
    }

    fn check(&self, die: u32, num: u32) -> Result<(), AicError> {
        let (dies, irqs) = self.dies_and_irqs();
        if die >= dies || num >= irqs {
            return Err(AicError::NoSuchIrq { die, num });
        }
        Ok(())
    }

    /// Masks every IRQ and clears software-triggered ones.
    fn mask_all(&self) {
        let (dies, irqs) = self.dies_and_irqs();
        for die in 0..dies {
            let (_, sw_clr, mask_set, _) = self.arrays(die);
            for w in 0..irqs.div_ceil(32) as usize {
                self.bus.write32(mask_set + 4 * w, u32::MAX);
                self.bus.write32(sw_clr + 4 * w, u32::MAX);
            }
        }
    }

    /// Routes IRQ `num` on `die` (AIC v1: to the CPUs in `cpu_mask`; AIC2 keeps the
    /// firmware's target group) and unmasks it.
    pub fn enable(&self, die: u32, num: u32, cpu_mask: u32) -> Result<(), AicError> {
        self.check(die, num)?;
        if let Layout::V1 { .. } = self.layout {
            self.bus.write32(AIC_TARGET_CPU + 4 * num as usize, cpu_mask);
        }
        self.unmask(die, num)
    }

    /// Masks IRQ `num` on `die`.
    pub fn mask(&self, die: u32, num: u32) -> Result<(), AicError> {
        self.check(die, num)?;
        let (_, _, mask_set, _) = self.arrays(die);
        self.bus.write32(mask_set + 4 * (num / 32) as usize, 1 << (num % 32));
        Ok(())
    }

    /// Unmasks IRQ `num` on `die` (after servicing an auto-masked event).
    pub fn unmask(&self, die: u32, num: u32) -> Result<(), AicError> {
        self.check(die, num)?;
        let (_, _, _, mask_clr) = self.arrays(die);
        self.bus.write32(mask_clr + 4 * (num / 32) as usize, 1 << (num % 32));
        Ok(())
    }

    /// Acknowledges the next pending event, or `None` when nothing is pending.
    pub fn ack(&self) -> Option<Event> {
        let off = match self.layout {
            Layout::V1 { .. } => AIC_EVENT,
            Layout::V2 { event, .. } => event,
        };
        let ev = LocalRegisterCopy::<u32, EventWord::Register>::new(self.bus.read32(off));
        if ev.get() == 0 {
            return None;
        }
        let (die, num) = (ev.read(EventWord::DIE), ev.read(EventWord::NUM));
        Some(match ev.read_as_enum(EventWord::TYPE) {
            Some(EventWord::TYPE::Value::Hw) => Event::Hw { die, num },
            Some(EventWord::TYPE::Value::Ipi) => Event::Ipi(num),
            None => Event::Other(ev.get()),
        })
    }
}
