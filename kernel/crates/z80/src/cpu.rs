//! The CPU state, the run loop and interrupt acceptance.
//!
//! What: [`Cpu`] holds every register and latch of an NMOS Z80 in at most 64 bytes;
//! [`Cpu::run`] executes whole instructions against a [`Bus`] until a budget of
//! instructions is spent, the bus traps or asks to stop, or the CPU halts with
//! nothing to wake it; [`Cpu::step`] executes exactly one.
//!
//! Why this shape: a BEAM-style scheduler gives each process a reduction budget and
//! needs a stop reason back, never a callback into itself. Rare events (pending
//! NMI, an asserted INT line, EI's delay, HALT) are folded into one `signals` byte,
//! so the hot loop tests a single byte per instruction. The T-state counter lives
//! in the loop (and in [`RunResult`]), not in the 64-byte state.
//!
//! Interrupt behaviour follows the Z80 CPU User Manual (UM0080, "Interrupt
//! Response"): NMI takes 11 T and jumps to 0x0066 keeping IFF2; IM 0 executes the
//! byte on the data bus (an RST takes 13 T), IM 1 is RST 38h in 13 T, IM 2 reads
//! the vector at (I << 8) | data in 19 T. HALT keeps PC on the HALT opcode (as
//! FUSE does) and executes NOPs; accepting an interrupt moves PC past it.

use crate::Bus;

/// A count of Z80 clock cycles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TStates(pub u64);

/// Why [`Cpu::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The instruction budget is spent; the process can simply be resumed.
    BudgetSpent,
    /// [`Bus::trap`] returned true for this PC; the instruction there has not run.
    Trap(u16),
    /// [`Bus::stop_requested`] returned true after an instruction (a blocking I/O).
    BusStop,
    /// The CPU is halted and nothing pending can wake it. With
    /// `interrupts_enabled` (IFF1 set) a scheduler waits for an interrupt; without
    /// it only an NMI can wake the CPU, which a scheduler may treat as a fault
    /// (`DI; HALT` is how CP/M-era programs stop for good).
    Halted {
        /// IFF1 at the time of the stop.
        interrupts_enabled: bool,
    },
}

/// What one [`Cpu::run`] call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// Why the run ended.
    pub reason: StopReason,
    /// Whole instructions executed (a chain of DD/FD prefixes with its opcode counts as one).
    pub instructions: u64,
    /// T-states spent, interrupt acknowledge cycles included.
    pub tstates: u64,
}

/// `signals` bit: an NMI edge is waiting to be accepted.
const SIG_NMI: u8 = 0x01;
/// `signals` bit: the INT line is held asserted (level-triggered) by [`Cpu::set_int_line`].
const SIG_INT_LEVEL: u8 = 0x02;
/// `signals` bit: an interrupt raised by [`Cpu::irq`], dropped once acknowledged.
const SIG_INT_PULSE: u8 = 0x04;
/// `signals` bit: the previous instruction was EI, so INT is not sampled now.
pub(crate) const SIG_EI_DELAY: u8 = 0x08;
/// `signals` bit: HALT has run and no interrupt has been accepted since.
pub(crate) const SIG_HALTED: u8 = 0x10;

/// The Z80 register file and internal latches.
///
/// 8-bit registers are plain fields; 16-bit pairs have accessors (`bc()`,
/// `set_bc()`, ...). `r` is kept as a free-running counter plus the preserved bit
/// 7; read it with [`Cpu::r`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Cpu {
    // 16-bit registers first, then each 8-bit pair low byte first, so that on a
    // little-endian host `hl()` and friends compile to one 16-bit load.
    pub pc: u16,
    pub sp: u16,
    pub ix: u16,
    pub iy: u16,
    /// MEMPTR, the internal address latch whose bits leak into X/Y.
    pub wz: u16,
    /// AF' (A in the high byte).
    pub af_alt: u16,
    /// BC'.
    pub bc_alt: u16,
    /// DE'.
    pub de_alt: u16,
    /// HL'.
    pub hl_alt: u16,
    /// The Q latch, kept as the PC at which the last flag-computing instruction
    /// ended: Q = F while PC is still there, else 0. Read it with [`Cpu::q`].
    /// Costs nothing per instruction, unlike clearing a Q byte before each one.
    pub(crate) q_end: u16,
    pub f: u8,
    pub a: u8,
    pub c: u8,
    pub b: u8,
    pub e: u8,
    pub d: u8,
    pub l: u8,
    pub h: u8,
    /// Interrupt vector base.
    pub i: u8,
    /// Refresh counter: bits 0..6 count M1 cycles; bit 7 is kept in `r7`.
    pub(crate) r: u8,
    /// Bit 7 of R as last loaded by `LD R,A`.
    pub(crate) r7: u8,
    pub iff1: bool,
    pub iff2: bool,
    /// Interrupt mode, 0, 1 or 2.
    pub im: u8,
    /// SIG_* bits.
    pub(crate) signals: u8,
    /// The byte a device puts on the data bus during an interrupt acknowledge.
    pub int_data: u8,
}

impl Default for Cpu {
    fn default() -> Self {
        Self::new()
    }
}

impl Cpu {
    /// The state after /RESET: PC, I, R zero, interrupts disabled, IM 0; the other
    /// registers (undefined on real silicon) are 0xFF for A/F and SP, zero otherwise.
    pub const fn new() -> Self {
        Self {
            a: 0xFF,
            f: 0xFF,
            b: 0,
            c: 0,
            d: 0,
            e: 0,
            h: 0,
            l: 0,
            af_alt: 0xFFFF,
            bc_alt: 0,
            de_alt: 0,
            hl_alt: 0,
            ix: 0,
            iy: 0,
            sp: 0xFFFF,
            pc: 0,
            wz: 0,
            i: 0,
            r: 0,
            r7: 0,
            iff1: false,
            iff2: false,
            im: 0,
            // Any value other than PC: Q = 0.
            q_end: 0x8000,
            signals: 0,
            int_data: 0xFF,
        }
    }

    #[inline(always)]
    pub fn af(&self) -> u16 {
        u16::from_be_bytes([self.a, self.f])
    }
    #[inline(always)]
    pub fn bc(&self) -> u16 {
        u16::from_be_bytes([self.b, self.c])
    }
    #[inline(always)]
    pub fn de(&self) -> u16 {
        u16::from_be_bytes([self.d, self.e])
    }
    #[inline(always)]
    pub fn hl(&self) -> u16 {
        u16::from_be_bytes([self.h, self.l])
    }
    #[inline(always)]
    pub fn set_af(&mut self, v: u16) {
        [self.a, self.f] = v.to_be_bytes();
    }
    #[inline(always)]
    pub fn set_bc(&mut self, v: u16) {
        [self.b, self.c] = v.to_be_bytes();
    }
    #[inline(always)]
    pub fn set_de(&mut self, v: u16) {
        [self.d, self.e] = v.to_be_bytes();
    }
    #[inline(always)]
    pub fn set_hl(&mut self, v: u16) {
        [self.h, self.l] = v.to_be_bytes();
    }

    /// The R register as `LD A,R` reads it.
    #[inline]
    pub fn r(&self) -> u8 {
        (self.r & 0x7F) | self.r7
    }
    /// Loads R (as `LD R,A` does).
    #[inline]
    pub fn set_r(&mut self, v: u8) {
        self.r = v;
        self.r7 = v & 0x80;
    }

    /// The Q latch at an instruction boundary: F if the last instruction computed
    /// flags, else 0. SCF/CCF take X/Y from `(Q ^ F) | A` (Patrik Rak's research).
    /// Moving PC from outside clears it, as taking an interrupt does.
    #[inline]
    pub fn q(&self) -> u8 {
        if self.q_end == self.pc {
            self.f
        } else {
            0
        }
    }
    /// Sets Q to F (`latched`) or to 0, as if the last instruction had or had not
    /// computed flags.
    #[inline]
    pub fn set_q(&mut self, latched: bool) {
        self.q_end = if latched { self.pc } else { self.pc ^ 0x8000 };
    }

    /// True while the CPU sits in HALT.
    #[inline]
    pub fn halted(&self) -> bool {
        self.signals & SIG_HALTED != 0
    }
    /// Enters or leaves the halted state (PC is left where it is).
    pub fn set_halted(&mut self, halted: bool) {
        self.set_signal(SIG_HALTED, halted);
    }
    /// True when the last instruction was EI, so INT is not sampled before the next one.
    #[inline]
    pub fn ei_delay(&self) -> bool {
        self.signals & SIG_EI_DELAY != 0
    }
    /// Sets or clears EI's one-instruction delay.
    pub fn set_ei_delay(&mut self, on: bool) {
        self.set_signal(SIG_EI_DELAY, on);
    }
    /// True while an NMI edge waits to be accepted.
    #[inline]
    pub fn nmi_pending(&self) -> bool {
        self.signals & SIG_NMI != 0
    }
    /// True while the INT line is asserted (by [`Cpu::set_int_line`] or [`Cpu::irq`]).
    #[inline]
    pub fn int_pending(&self) -> bool {
        self.signals & (SIG_INT_LEVEL | SIG_INT_PULSE) != 0
    }

    fn set_signal(&mut self, bit: u8, on: bool) {
        if on {
            self.signals |= bit;
        } else {
            self.signals &= !bit;
        }
    }

    /// Raises the (edge-triggered) NMI: accepted before the next instruction,
    /// whatever IFF1 says and even straight after EI (EI delays only INT).
    pub fn nmi(&mut self) {
        self.signals |= SIG_NMI;
    }

    /// Asserts INT with `data` on the data bus until the CPU acknowledges it once
    /// (a device that drops its request on acknowledge). Ignored while IFF1 is
    /// clear, but stays pending until [`Cpu::clear_irq`] or acknowledgement.
    pub fn irq(&mut self, data: u8) {
        self.int_data = data;
        self.signals |= SIG_INT_PULSE;
    }

    /// Withdraws a request made with [`Cpu::irq`].
    pub fn clear_irq(&mut self) {
        self.signals &= !SIG_INT_PULSE;
    }

    /// Drives the level-triggered INT line: while asserted, an interrupt is taken at
    /// every instruction boundary where IFF1 is set (and EI's delay is over), with
    /// [`Cpu::int_data`] on the data bus.
    pub fn set_int_line(&mut self, asserted: bool) {
        self.set_signal(SIG_INT_LEVEL, asserted);
    }

    /// One M1 cycle: reads the opcode at PC, advances PC and R.
    #[inline(always)]
    pub(crate) fn fetch_op<B: Bus>(&mut self, bus: &mut B) -> u8 {
        let op = bus.fetch(self.pc);
        self.pc = self.pc.wrapping_add(1);
        self.r = self.r.wrapping_add(1);
        op
    }

    #[inline(always)]
    pub(crate) fn imm8<B: Bus>(&mut self, bus: &mut B) -> u8 {
        let v = bus.fetch(self.pc);
        self.pc = self.pc.wrapping_add(1);
        v
    }

    #[inline(always)]
    pub(crate) fn imm16<B: Bus>(&mut self, bus: &mut B) -> u16 {
        let lo = self.imm8(bus);
        let hi = self.imm8(bus);
        u16::from_le_bytes([lo, hi])
    }

    #[inline(always)]
    pub(crate) fn read16<B: Bus>(bus: &mut B, addr: u16) -> u16 {
        let lo = bus.read(addr);
        let hi = bus.read(addr.wrapping_add(1));
        u16::from_le_bytes([lo, hi])
    }

    #[inline(always)]
    pub(crate) fn write16<B: Bus>(bus: &mut B, addr: u16, v: u16) {
        let [lo, hi] = v.to_le_bytes();
        bus.write(addr, lo);
        bus.write(addr.wrapping_add(1), hi);
    }

    /// PUSH: high byte first, to SP-1, then the low byte to SP-2.
    #[inline(always)]
    pub(crate) fn push16<B: Bus>(&mut self, bus: &mut B, v: u16) {
        let [lo, hi] = v.to_le_bytes();
        self.sp = self.sp.wrapping_sub(1);
        bus.write(self.sp, hi);
        self.sp = self.sp.wrapping_sub(1);
        bus.write(self.sp, lo);
    }

    #[inline(always)]
    pub(crate) fn pop16<B: Bus>(&mut self, bus: &mut B) -> u16 {
        let v = Self::read16(bus, self.sp);
        self.sp = self.sp.wrapping_add(2);
        v
    }

    /// Executes one whole instruction, a halted NOP, or the acceptance of a pending
    /// interrupt, and returns the T-states it took. Never asks [`Bus::trap`] or
    /// [`Bus::stop_requested`].
    pub fn step<B: Bus>(&mut self, bus: &mut B) -> TStates {
        if self.signals != 0 {
            match self.service(bus) {
                Service::Accepted(t) => return TStates(t),
                Service::Halted => {
                    self.r = self.r.wrapping_add(1);
                    return TStates(4);
                }
                Service::None => {}
            }
        }
        let op = self.fetch_op(bus);
        TStates(self.exec(bus, op))
    }

    /// Runs whole instructions until `budget` of them have executed, the bus traps
    /// or asks to stop, or the CPU is halted with nothing pending that can wake it
    /// (then no halted NOPs are spent: the scheduler should wait, see
    /// [`StopReason::Halted`]). Interrupts pending at an instruction boundary are
    /// accepted first; their acknowledge cycles count as T-states, not instructions.
    #[inline]
    pub fn run<B: Bus>(&mut self, bus: &mut B, budget: u64) -> RunResult {
        // Counting down saves a compare per instruction.
        let mut left = budget;
        let mut t = 0u64;
        let reason = loop {
            if left == 0 {
                break StopReason::BudgetSpent;
            }
            if self.signals != 0 {
                match self.service(bus) {
                    Service::Accepted(ti) => t += ti,
                    Service::Halted => break StopReason::Halted { interrupts_enabled: self.iff1 },
                    Service::None => {}
                }
            }
            let pc = self.pc;
            if bus.trap(pc) {
                break StopReason::Trap(pc);
            }
            // `fetch_op`, from the PC already in hand.
            let op = bus.fetch(pc);
            self.pc = pc.wrapping_add(1);
            self.r = self.r.wrapping_add(1);
            t += self.exec(bus, op);
            left -= 1;
            if bus.stop_requested() {
                break StopReason::BusStop;
            }
        };
        RunResult { reason, instructions: budget - left, tstates: t }
    }

    /// The slow path taken when any `signals` bit is set: EI's delay, NMI, INT, HALT.
    #[cold]
    #[inline(never)]
    fn service<B: Bus>(&mut self, bus: &mut B) -> Service {
        if self.signals & SIG_NMI != 0 {
            self.signals &= !(SIG_NMI | SIG_EI_DELAY);
            self.acknowledge_start();
            self.iff1 = false;
            let pc = self.pc;
            self.push16(bus, pc);
            self.pc = 0x0066;
            self.wz = 0x0066;
            self.set_q(false);
            return Service::Accepted(11);
        }
        if self.signals & SIG_EI_DELAY != 0 {
            // The instruction after EI always runs before INT is sampled.
            self.signals &= !SIG_EI_DELAY;
        } else if self.iff1 && self.signals & (SIG_INT_LEVEL | SIG_INT_PULSE) != 0 {
            self.signals &= !SIG_INT_PULSE;
            self.acknowledge_start();
            self.iff1 = false;
            self.iff2 = false;
            let data = self.int_data;
            let t = match self.im {
                2 => {
                    let pc = self.pc;
                    self.push16(bus, pc);
                    let vector = u16::from_be_bytes([self.i, data]);
                    self.pc = Self::read16(bus, vector);
                    19
                }
                1 => {
                    let pc = self.pc;
                    self.push16(bus, pc);
                    self.pc = 0x0038;
                    13
                }
                _ => {
                    // IM 0: the byte on the data bus is executed as an opcode, two T
                    // longer than normal. An RST is what every CP/M-era device sends;
                    // a multi-byte opcode would read its operands from memory at PC.
                    self.set_q(false);
                    2 + self.exec(bus, data)
                }
            };
            self.wz = self.pc;
            self.set_q(false);
            return Service::Accepted(t);
        }
        if self.signals & SIG_HALTED != 0 {
            return Service::Halted;
        }
        Service::None
    }

    /// The common start of an interrupt acknowledge: one M1 cycle (R counts it) and
    /// leaving HALT, whose PC still points at the HALT opcode.
    fn acknowledge_start(&mut self) {
        self.r = self.r.wrapping_add(1);
        if self.signals & SIG_HALTED != 0 {
            self.signals &= !SIG_HALTED;
            self.pc = self.pc.wrapping_add(1);
        }
    }
}

/// What the slow path decided at an instruction boundary.
enum Service {
    /// An interrupt was accepted, taking this many T-states.
    Accepted(u64),
    /// Halted and nothing can wake the CPU now.
    Halted,
    /// Carry on with the next instruction.
    None,
}
