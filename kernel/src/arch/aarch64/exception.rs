//! Exception vectors and the trap frame.
//!
//! Every vector saves the whole integer and FP/SIMD register file (Rust handlers may
//! use q registers for copies) into a [`TrapFrame`] on the current stack and calls
//! [`zbeam_exception`]. IRQs and FIQs go to the board's interrupt dispatch; anything
//! else is unexpected and becomes a readable report followed by a kernel panic.
//!
//! A synchronous exception at EL1 first checks that the interrupted stack has room for
//! the frame (`AT S1E1W` on SP - frame size, result in PAR_EL1). When it has not (the
//! stack ran into its guard page, see `mmu::guard_pages`), saving the frame there would
//! fault again, forever; the vector moves SP_EL1 to this core's small exception stack
//! ([`EXCEPTION_STACK`] bytes) first, and the fault is reported as `stack overflow on
//! core N` through the panic path. Such an exception never returns, so the interrupted
//! SP is not needed. The check uses TPIDRRO_EL0 and TPIDR_EL0 as scratch registers:
//! nothing runs at EL0 and the kernel keeps no thread pointer there.
//!
//! ARM ARM DDI 0487: D1.10 (exception vectors, VBAR_EL1), D17.2.37 (ESR_EL1 and the
//! exception classes), D17.2.40 (FAR_EL1), C5.5 (AT S1E1W), D17.2.113 (PAR_EL1).

use aarch64_cpu::registers::{Readable, Writeable, ESR_EL1, FAR_EL1, VBAR_EL1};
use core::cell::UnsafeCell;
use core::fmt;

/// Bytes of each core's exception stack, used only when a synchronous exception finds
/// no room on the interrupted stack (enough for the frame and the panic report).
pub const EXCEPTION_STACK: usize = 16 << 10;

const MAX_CORES: usize = crate::board::MAX_CORES;
const _: () = assert!(MAX_CORES.is_power_of_two());

/// One exception stack per core, in .bss; core N's top is at (N + 1) * EXCEPTION_STACK.
#[repr(C, align(16))]
struct ExceptionStacks(UnsafeCell<[[u8; EXCEPTION_STACK]; MAX_CORES]>);
// SAFETY: only the vector code touches these bytes, and only as the stack of the core
// whose id (TPIDR_EL1) selects the slot; no Rust reference to them is ever made.
unsafe impl Sync for ExceptionStacks {}
static EXCEPTION_STACKS: ExceptionStacks = ExceptionStacks(UnsafeCell::new([[0; EXCEPTION_STACK]; MAX_CORES]));

core::arch::global_asm!(
    r#"
.macro VECTOR kind
    .balign 0x80
    sub     sp, sp, #{frame}
    stp     x0, x1, [sp, #0]
    mov     x0, #\kind
    b       zbeam_vector_common
.endm

    .section .text.vectors, "ax"
    .balign 2048
    .global zbeam_vectors
zbeam_vectors:
    VECTOR 0
    VECTOR 1
    VECTOR 2
    VECTOR 3
    .balign 0x80                    // 4: synchronous, current EL with SP_EL1
    b       zbeam_sync_spx
    VECTOR 5
    VECTOR 6
    VECTOR 7
    VECTOR 8
    VECTOR 9
    VECTOR 10
    VECTOR 11
    VECTOR 12
    VECTOR 13
    VECTOR 14
    VECTOR 15

// Synchronous exception at EL1h: is there room for the frame on this stack?
zbeam_sync_spx:
    msr     tpidrro_el0, x0         // scratch (see the module doc)
    mov     x0, sp
    sub     x0, x0, #{frame}
    at      s1e1w, x0               // translate the frame's lowest byte for a write
    isb                             // PAR_EL1 holds the result after the ISB
    mrs     x0, par_el1
    tbnz    x0, #0, 1f              // PAR_EL1.F: it would fault (a guard page)
    mrs     x0, tpidrro_el0
    sub     sp, sp, #{frame}
    stp     x0, x1, [sp, #0]
    mov     x0, #4
    b       zbeam_vector_common
1:  msr     tpidr_el0, x1
    mrs     x0, tpidr_el1           // the logical core id (cpu::core_id)
    and     x0, x0, #{core_mask}
    add     x0, x0, #1
    mov     x1, #{exc_stack}
    mul     x0, x0, x1
    adrp    x1, {exc_stacks}
    add     x1, x1, :lo12:{exc_stacks}
    add     x0, x0, x1
    mov     sp, x0                  // the top of this core's exception stack
    mrs     x0, tpidrro_el0
    mrs     x1, tpidr_el0
    sub     sp, sp, #{frame}
    stp     x0, x1, [sp, #0]
    mov     x0, #4
    b       zbeam_vector_common

zbeam_vector_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x1, elr_el1
    stp     x30, x1, [sp, #240]
    mrs     x1, spsr_el1
    mrs     x2, fpcr
    stp     x1, x2, [sp, #256]
    mrs     x1, fpsr
    str     x1, [sp, #272]
    add     x1, sp, #288
    stp     q0, q1, [x1, #0]
    stp     q2, q3, [x1, #32]
    stp     q4, q5, [x1, #64]
    stp     q6, q7, [x1, #96]
    stp     q8, q9, [x1, #128]
    stp     q10, q11, [x1, #160]
    stp     q12, q13, [x1, #192]
    stp     q14, q15, [x1, #224]
    stp     q16, q17, [x1, #256]
    stp     q18, q19, [x1, #288]
    stp     q20, q21, [x1, #320]
    stp     q22, q23, [x1, #352]
    stp     q24, q25, [x1, #384]
    stp     q26, q27, [x1, #416]
    stp     q28, q29, [x1, #448]
    stp     q30, q31, [x1, #480]
    mov     x1, sp
    bl      zbeam_exception
    add     x1, sp, #288
    ldp     q0, q1, [x1, #0]
    ldp     q2, q3, [x1, #32]
    ldp     q4, q5, [x1, #64]
    ldp     q6, q7, [x1, #96]
    ldp     q8, q9, [x1, #128]
    ldp     q10, q11, [x1, #160]
    ldp     q12, q13, [x1, #192]
    ldp     q14, q15, [x1, #224]
    ldp     q16, q17, [x1, #256]
    ldp     q18, q19, [x1, #288]
    ldp     q20, q21, [x1, #320]
    ldp     q22, q23, [x1, #352]
    ldp     q24, q25, [x1, #384]
    ldp     q26, q27, [x1, #416]
    ldp     q28, q29, [x1, #448]
    ldp     q30, q31, [x1, #480]
    ldr     x1, [sp, #272]
    msr     fpsr, x1
    ldp     x1, x2, [sp, #256]
    msr     spsr_el1, x1
    msr     fpcr, x2
    ldp     x30, x1, [sp, #240]
    msr     elr_el1, x1
    ldp     x28, x29, [sp, #224]
    ldp     x26, x27, [sp, #208]
    ldp     x24, x25, [sp, #192]
    ldp     x22, x23, [sp, #176]
    ldp     x20, x21, [sp, #160]
    ldp     x18, x19, [sp, #144]
    ldp     x16, x17, [sp, #128]
    ldp     x14, x15, [sp, #112]
    ldp     x12, x13, [sp, #96]
    ldp     x10, x11, [sp, #80]
    ldp     x8, x9, [sp, #64]
    ldp     x6, x7, [sp, #48]
    ldp     x4, x5, [sp, #32]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #{frame}
    eret
"#,
    frame = const core::mem::size_of::<TrapFrame>(),
    core_mask = const MAX_CORES - 1,
    exc_stack = const EXCEPTION_STACK,
    exc_stacks = sym EXCEPTION_STACKS,
);

/// The registers saved on exception entry, in the order the vector code stores them.
#[repr(C)]
pub struct TrapFrame {
    /// x0..x30.
    pub x: [u64; 31],
    /// ELR_EL1: where the exception was taken.
    pub elr: u64,
    /// SPSR_EL1: the interrupted PSTATE.
    pub spsr: u64,
    /// FPCR.
    pub fpcr: u64,
    /// FPSR.
    pub fpsr: u64,
    _pad: u64,
    /// q0..q31.
    pub q: [u128; 32],
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == 800);

/// Which of the sixteen vectors was taken: (source, type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorKind {
    /// Synchronous exception.
    Sync,
    /// IRQ.
    Irq,
    /// FIQ.
    Fiq,
    /// SError.
    SError,
}

fn describe_vector(kind: u64) -> (&'static str, VectorKind) {
    let source = match kind / 4 {
        0 => "current EL, SP0",
        1 => "current EL, SPx",
        2 => "lower EL, AArch64",
        _ => "lower EL, AArch32",
    };
    let ty = match kind % 4 {
        0 => VectorKind::Sync,
        1 => VectorKind::Irq,
        2 => VectorKind::Fiq,
        _ => VectorKind::SError,
    };
    (source, ty)
}

/// Installs the vector table on this core.
pub fn install() {
    extern "C" {
        static zbeam_vectors: u8;
    }
    let base = core::ptr::addr_of!(zbeam_vectors) as u64;
    VBAR_EL1.set(base);
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}

/// Human name of an ESR exception class (ARM ARM D17.2.37, table of EC values).
pub fn exception_class_name(ec: u64) -> &'static str {
    match ec {
        0x00 => "Unknown reason",
        0x01 => "Trapped WFI/WFE",
        0x07 => "Trapped FP/SIMD access",
        0x0e => "Illegal execution state",
        0x15 => "SVC (AArch64)",
        0x16 => "HVC (AArch64)",
        0x17 => "SMC (AArch64)",
        0x18 => "Trapped MSR/MRS/system instruction",
        0x20 => "Instruction Abort from a lower EL",
        0x21 => "Instruction Abort (same EL)",
        0x22 => "PC alignment fault",
        0x24 => "Data Abort from a lower EL",
        0x25 => "Data Abort (same EL)",
        0x26 => "SP alignment fault",
        0x2c => "Trapped floating-point exception",
        0x2f => "SError",
        0x30 | 0x31 => "Breakpoint",
        0x32 | 0x33 => "Software step",
        0x34 | 0x35 => "Watchpoint",
        0x3c => "BRK instruction",
        _ => "Other exception class",
    }
}

/// Describes an abort's fault status code (ISS.DFSC/IFSC, ARM ARM D17.2.37).
pub fn fault_status_name(fsc: u64) -> &'static str {
    match fsc {
        0x00..=0x03 => "address size fault",
        0x04..=0x07 => "translation fault",
        0x09..=0x0b => "access flag fault",
        0x0d..=0x0f => "permission fault",
        0x10 => "synchronous external abort",
        0x21 => "alignment fault",
        0x30 => "TLB conflict abort",
        _ => "other fault",
    }
}

/// The syndrome of a synchronous exception, read from ESR_EL1 and FAR_EL1.
pub struct Syndrome {
    /// ESR_EL1.
    pub esr: u64,
    /// FAR_EL1 (valid for aborts and alignment faults).
    pub far: u64,
}

impl Syndrome {
    /// Reads this core's syndrome registers.
    pub fn read() -> Self {
        Syndrome { esr: ESR_EL1.get(), far: FAR_EL1.get() }
    }

    /// Exception class, ESR bits 31:26.
    pub fn ec(&self) -> u64 {
        (self.esr >> 26) & 0x3f
    }
}

impl fmt::Display for Syndrome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ec = self.ec();
        write!(f, "{} (EC {:#04x}), ESR {:#010x}", exception_class_name(ec), ec, self.esr)?;
        if matches!(ec, 0x20 | 0x21 | 0x24 | 0x25) {
            let fsc = self.esr & 0x3f;
            let level = fsc & 3;
            write!(
                f,
                "\n  {} at level {} ({})",
                fault_status_name(fsc),
                level,
                if ec >= 0x24 && self.esr & (1 << 6) != 0 { "write" } else { "read" }
            )?;
            write!(f, ", FAR {:#018x}", self.far)?;
        }
        Ok(())
    }
}

impl fmt::Display for TrapFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = super::image_range().0 as u64;
        writeln!(
            f,
            "  ELR {:#018x} (image offset {:#x})  SPSR {:#010x}",
            self.elr,
            self.elr.wrapping_sub(base),
            self.spsr
        )?;
        for row in 0..8 {
            for col in 0..4 {
                let r = row * 4 + col;
                if r < 31 {
                    write!(f, "  x{:<2} {:#018x}", r, self.x[r])?;
                }
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Rust entry from the vectors. `kind` is the vector index (0..16).
#[no_mangle]
extern "C" fn zbeam_exception(kind: u64, frame: &mut TrapFrame) {
    let (source, ty) = describe_vector(kind);
    match (kind / 4, ty) {
        (1, VectorKind::Irq) => crate::board::handle_irq(),
        (1, VectorKind::Fiq) => crate::board::handle_fiq(),
        _ => {
            let syn = Syndrome::read();
            if ty == VectorKind::Sync && syn.ec() == 0x25 && super::mmu::is_guard_page(syn.far) {
                crate::panic::fatal_exception(format_args!(
                    "stack overflow on core {}: {} hit a stack guard page\n  {}\n{}",
                    super::cpu::core_id(),
                    if syn.esr & (1 << 6) != 0 { "a write" } else { "a read" },
                    syn,
                    frame
                ));
            }
            crate::panic::fatal_exception(format_args!(
                "unexpected {:?} exception from {} on core {}\n  {}\n{}",
                ty,
                source,
                super::cpu::core_id(),
                syn,
                frame
            ));
        }
    }
}
