// zbeam boot stub: the only assembly that runs before Rust.
//
// It is entered in one of three states and leaves every core in the same one:
//   * EL1 (QEMU virt default),
//   * EL2 without VHE (QEMU `virtualization=on` on a core without FEAT_VHE),
//   * EL2 with HCR_EL2.E2H = 1 (Apple cores force it; on QEMU `-cpu max` we set it
//     ourselves whenever FEAT_VHE exists, so the same path is exercised there).
// In every case it drops to EL1h with DAIF masked, enables FP/SIMD (rustc emits FP/SIMD
// stores in ordinary code), switches to the core's own stack and calls Rust.
//
// The image is position independent: the boot core applies its own
// R_AARCH64_RELATIVE relocations before anything reads a pointer, and zeroes .bss.
// References: Linux Documentation/arch/arm64/booting.rst (the Image header and the
// entry contract), ARM ARM DDI 0487 D1.2 (exception levels), D13 (HCR_EL2, CPTR_EL2,
// CNTHCTL_EL2 with and without E2H), ELF for the Arm 64-bit Architecture (relocations).

        .section .text.head, "ax"
        .global _head
_head:
        b       primary_entry           // code0: branch to the real entry
        .long   0                       // code1
        .quad   0                       // text_offset: we relocate ourselves
        .quad   __image_size            // image_size: file, .bss and stacks
        .quad   0xa                     // flags: little endian, 4 KiB pages, place anywhere
        .quad   0, 0, 0                 // res2, res3, res4
        .ascii  "ARM\x64"               // magic
        .long   0                       // res5: no PE header

        .text
// Boot core. x0 = physical address of the device tree blob.
primary_entry:
        mov     x19, x0                 // x19 = DTB
        adr     x20, _head              // x20 = load address (the image is linked at 0)

        // Apply relative relocations: *(base + offset) = base + addend.
        adrp    x1, __rela_start
        add     x1, x1, :lo12:__rela_start
        adrp    x2, __rela_end
        add     x2, x2, :lo12:__rela_end
1:      cmp     x1, x2
        b.hs    2f
        ldp     x3, x4, [x1], #16       // r_offset, r_info
        ldr     x5, [x1], #8            // r_addend
        cmp     x4, #0x403              // R_AARCH64_RELATIVE, symbol 0
        b.ne    boot_fail
        add     x5, x5, x20
        str     x5, [x20, x3]
        b       1b

        // Zero .bss (16-byte aligned by the linker script).
2:      adrp    x1, __bss_start
        add     x1, x1, :lo12:__bss_start
        adrp    x2, __bss_end
        add     x2, x2, :lo12:__bss_end
3:      cmp     x1, x2
        b.hs    4f
        stp     xzr, xzr, [x1], #16
        b       3b

4:      mov     x21, #0                 // core index 0
        bl      drop_to_el1             // x0 = entry EL
        mov     x22, x0
        bl      enable_fp
        adrp    x1, __boot_stack_end    // the boot core's larger stack: device-tree
        add     x1, x1, :lo12:__boot_stack_end // parsing and bring-up need more than 64 KiB
        mov     sp, x1
        mov     x0, x19                 // dtb
        mov     x1, x22                 // entry EL
        mov     x2, x20                 // load address
        bl      zbeam_primary_entry     // never returns
        b       boot_fail

// Secondary cores, started by PSCI CPU_ON (x0 = context id = core index) or by the
// spin table (the board writes the index to the core's slot before releasing it).
        .global _secondary_entry
_secondary_entry:
        mov     x21, x0
        bl      drop_to_el1
        mov     x22, x0
        bl      enable_fp
        mov     x0, x21
        bl      set_stack
        mov     x0, x21                 // core index
        mov     x1, x22                 // entry EL
        bl      zbeam_secondary_entry   // never returns
        b       boot_fail

// Spin-table entry (Apple; `cpu-release-addr`): every core arrives with x0 = 0, so
// it finds its logical index by its MPIDR in zbeam_spin_mpidr, which the boot core
// filled and cleaned to the point of coherency before releasing it. A core that is
// not in the table waits forever rather than run on someone else's stack.
        .global _spin_entry
_spin_entry:
        mrs     x1, mpidr_el1
        mov     x2, #0xffffff           // affinity: Aff2..Aff0 ...
        movk    x2, #0xff, lsl #32      // ... and Aff3
        and     x1, x1, x2
        adrp    x2, zbeam_spin_mpidr
        add     x2, x2, :lo12:zbeam_spin_mpidr
        mov     x0, #1
12:     cmp     x0, #64                 // MAX_CORES (checked by kernel/build.rs)
        b.hs    boot_fail
        ldr     x3, [x2, x0, lsl #3]
        cmp     x3, x1
        b.eq    _secondary_entry
        add     x0, x0, #1
        b       12b

// sp = top of core x0's stack (x0 >= 1). Stacks are 64 KiB each (STACK_SIZE in
// linker.ld); slot 0 is unused because the boot core has its own, larger stack.
set_stack:
        adrp    x1, __stacks_start
        add     x1, x1, :lo12:__stacks_start
        add     x0, x0, #1
        lsl     x0, x0, #16
        add     x1, x1, x0
        mov     sp, x1
        ret

enable_fp:
        mov     x0, #(3 << 20)          // CPACR_EL1.FPEN = 0b11: no FP/SIMD traps at EL1/EL0
        msr     cpacr_el1, x0
        isb
        ret

// Returns x0 = the exception level we were entered at (bit 4 set: EL2 with E2H = 1);
// always returns at EL1h.
drop_to_el1:
        mrs     x0, CurrentEL
        lsr     x0, x0, #2
        cmp     x0, #1
        b.eq    9f                      // already EL1
        cmp     x0, #2
        b.ne    boot_fail               // EL3 entry is not supported

        // HCR_EL2: RW = 1 (EL1 is AArch64). Set E2H when FEAT_VHE exists
        // (ID_AA64MMFR1_EL1.VH, bits 11:8): Apple forces it, elsewhere this keeps one path.
        mrs     x1, id_aa64mmfr1_el1
        ubfx    x1, x1, #8, #4
        mov     x2, #(1 << 31)
        cbz     x1, 5f
        orr     x2, x2, #(1 << 34)
5:      msr     hcr_el2, x2
        isb
        mrs     x2, hcr_el2             // read back: E2H may be forced on
        msr     cntvoff_el2, xzr        // virtual counter == physical counter
        msr     hstr_el2, xzr
        msr     vttbr_el2, xzr
        // EL1 reads of MIDR_EL1 and MPIDR_EL1 return VPIDR_EL2 and VMPIDR_EL2, whose
        // reset values are UNKNOWN: give EL1 the real ones (core class, affinity).
        mrs     x1, midr_el1
        msr     vpidr_el2, x1
        mrs     x1, mpidr_el1
        msr     vmpidr_el2, x1
        ldr     x3, =0x30d00800         // SCTLR_EL1: RES1 bits, MMU and caches off, LE
        tbnz    x2, #34, 6f

        // E2H = 0: CNTHCTL_EL2.EL1PCTEN|EL1PCEN (bits 0, 1); CPTR_EL2.TFP (bit 10) clear.
        mov     x1, #3
        msr     cnthctl_el2, x1
        mov     x1, #0x33ff
        msr     cptr_el2, x1
        msr     sctlr_el1, x3
        b       7f

        // E2H = 1: CNTHCTL_EL2.EL1PCTEN|EL1PTEN move to bits 10, 11; CPTR_EL2 takes the
        // CPACR layout (FPEN bits 21:20); EL1's SCTLR is reached as SCTLR_EL12.
6:      mov     x1, #(3 << 10)
        msr     cnthctl_el2, x1
        mov     x1, #(3 << 20)
        msr     cptr_el2, x1
        msr     s3_5_c1_c0_0, x3        // SCTLR_EL12

        // E2H = 1 also has the EL2 virtual timer; keep it off so it cannot fire.
        msr     s3_4_c14_c3_1, xzr      // CNTHV_CTL_EL2

        // GICv3 CPU interface present (ID_AA64PFR0_EL1.GIC): let EL1 use the ICC_*
        // system registers (ICC_SRE_EL2.SRE | Enable).
7:      mrs     x1, id_aa64pfr0_el1
        ubfx    x1, x1, #24, #4
        cbz     x1, 8f
        mrs     x1, s3_4_c12_c9_5       // ICC_SRE_EL2
        orr     x1, x1, #0x1            // SRE
        orr     x1, x1, #0x8            // Enable: EL1 may set its own SRE
        msr     s3_4_c12_c9_5, x1
        isb
8:      msr     cnthp_ctl_el2, xzr      // the EL2 physical timer stays off

        // Apple cores (MIDR implementer 0x61): the EL1 timers reach EL1 as FIQs only
        // when VM_TMR_FIQ_ENA_EL2 (s3_5_c15_c1_3) enables them (bit 0 virtual, bit 1
        // physical), and HACR_EL2 = 0 keeps Apple's own registers (fast IPIs) usable
        // from EL1. Facts from Asahi Linux (sysreg_apple.h) and m1n1.
        mrs     x1, midr_el1
        ubfx    x1, x1, #24, #8
        cmp     x1, #0x61
        b.ne    11f
        msr     s3_4_c1_c1_7, xzr       // HACR_EL2
        mrs     x1, s3_5_c15_c1_3
        orr     x1, x1, #3
        msr     s3_5_c15_c1_3, x1
11:     mov     x1, #0x3c5              // SPSR: EL1h, D, A, I, F masked
        msr     spsr_el2, x1
        adr     x1, 9f
        msr     elr_el2, x1
        mov     x0, #2                  // report EL2 ...
        tbz     x2, #34, 10f
        mov     x0, #0x12               // ... with E2H set (bit 4)
10:     eret
9:      ret

boot_fail:
        wfe
        b       boot_fail
        .ltorg
