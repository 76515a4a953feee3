//! Small per-family tests for what the exercisers and the FUSE vectors do not reach:
//! interrupts (IM 0/1/2 timing and vector, EI's delay, NMI, RETN), HALT and waking
//! from it, the R register, I/O and block I/O flags, block-instruction repeat
//! timing, DD/FD prefix chains, the SCF/CCF Q rule and the `run` stop reasons.

use zbeam_z80::{Bus, Cpu, StopReason, TStates};

/// 64 KiB of RAM; ports read `port_value`; writes to ports are logged.
struct TestBus {
    mem: Vec<u8>,
    port_value: u8,
    inputs: Vec<u16>,
    outputs: Vec<(u16, u8)>,
    trap_at: Option<u16>,
    stop_after_output: bool,
}

impl TestBus {
    fn with(program: &[u8]) -> Self {
        let mut mem = vec![0u8; 0x10000];
        mem[..program.len()].copy_from_slice(program);
        Self { mem, port_value: 0, inputs: Vec::new(), outputs: Vec::new(), trap_at: None, stop_after_output: false }
    }
}

impl Bus for TestBus {
    fn read(&mut self, addr: u16) -> u8 {
        self.mem[addr as usize]
    }
    fn write(&mut self, addr: u16, value: u8) {
        self.mem[addr as usize] = value;
    }
    fn input(&mut self, port: u16) -> u8 {
        self.inputs.push(port);
        self.port_value
    }
    fn output(&mut self, port: u16, value: u8) {
        self.outputs.push((port, value));
    }
    fn trap(&mut self, pc: u16) -> bool {
        self.trap_at == Some(pc)
    }
    fn stop_requested(&mut self) -> bool {
        !self.outputs.is_empty() && self.stop_after_output
    }
}

fn cpu_at(pc: u16) -> Cpu {
    let mut cpu = Cpu::new();
    cpu.pc = pc;
    cpu.sp = 0x8000;
    cpu
}

fn word_at(bus: &TestBus, addr: u16) -> u16 {
    u16::from_le_bytes([bus.mem[addr as usize], bus.mem[addr as usize + 1]])
}

#[test]
fn cpu_state_fits_in_64_bytes() {
    eprintln!("size_of::<Cpu>() = {}", core::mem::size_of::<Cpu>());
    assert!(core::mem::size_of::<Cpu>() <= 64);
}

#[test]
fn im1_waits_for_the_instruction_after_ei() {
    // EI; NOP; NOP
    let mut bus = TestBus::with(&[0xFB, 0x00, 0x00]);
    let mut cpu = cpu_at(0);
    cpu.im = 1;
    cpu.irq(0xFF);
    assert_eq!(cpu.step(&mut bus), TStates(4)); // EI
    assert!(cpu.iff1 && cpu.iff2 && cpu.ei_delay());
    assert_eq!(cpu.step(&mut bus), TStates(4)); // the NOP after EI always runs
    assert_eq!(cpu.pc, 2);
    assert_eq!(cpu.step(&mut bus), TStates(13)); // acknowledge, RST 38h
    assert_eq!((cpu.pc, cpu.sp, cpu.wz), (0x0038, 0x7FFE, 0x0038));
    assert_eq!(word_at(&bus, 0x7FFE), 2);
    assert!(!cpu.iff1 && !cpu.iff2 && !cpu.int_pending());
}

#[test]
fn ei_then_di_never_takes_the_interrupt() {
    let mut bus = TestBus::with(&[0xFB, 0xF3, 0x00, 0x00]);
    let mut cpu = cpu_at(0);
    cpu.im = 1;
    cpu.irq(0xFF);
    let r = cpu.run(&mut bus, 4);
    assert_eq!((r.reason, r.instructions, r.tstates), (StopReason::BudgetSpent, 4, 16));
    assert_eq!(cpu.pc, 4);
    assert!(cpu.int_pending(), "request stays pending while IFF1 is clear");
}

#[test]
fn im2_reads_the_vector_table() {
    let mut bus = TestBus::with(&[0x00]);
    bus.mem[0x8020] = 0x34;
    bus.mem[0x8021] = 0x12;
    let mut cpu = cpu_at(0x0100);
    cpu.sp = 0x9000;
    cpu.im = 2;
    cpu.i = 0x80;
    cpu.iff1 = true;
    cpu.iff2 = true;
    cpu.irq(0x20);
    let r0 = cpu.r();
    assert_eq!(cpu.step(&mut bus), TStates(19));
    assert_eq!((cpu.pc, cpu.wz, cpu.sp), (0x1234, 0x1234, 0x8FFE));
    assert_eq!(word_at(&bus, 0x8FFE), 0x0100);
    assert_eq!(cpu.r(), r0.wrapping_add(1) & 0x7F);
}

#[test]
fn im0_executes_the_rst_on_the_data_bus() {
    let mut bus = TestBus::with(&[0x00]);
    let mut cpu = cpu_at(0x0200);
    cpu.im = 0;
    cpu.iff1 = true;
    cpu.irq(0xEF); // RST 28h
    assert_eq!(cpu.step(&mut bus), TStates(13));
    assert_eq!(cpu.pc, 0x0028);
    assert_eq!(word_at(&bus, cpu.sp), 0x0200);
}

#[test]
fn level_triggered_line_fires_again_after_reti() {
    // Handler at 0x38: EI; RETI (ED 4D). Main: NOPs.
    let mut bus = TestBus::with(&[0x00; 8]);
    bus.mem[0x38] = 0xFB;
    bus.mem[0x39] = 0xED;
    bus.mem[0x3A] = 0x4D;
    let mut cpu = cpu_at(0);
    cpu.im = 1;
    cpu.iff1 = true;
    cpu.iff2 = true;
    cpu.set_int_line(true);
    assert_eq!(cpu.step(&mut bus), TStates(13));
    assert_eq!(cpu.pc, 0x38);
    assert_eq!(cpu.step(&mut bus), TStates(4)); // EI
    assert_eq!(cpu.step(&mut bus), TStates(14)); // RETI runs before INT is sampled
    assert_eq!(cpu.pc, 0);
    assert_eq!(cpu.step(&mut bus), TStates(13)); // still asserted: taken again
    assert_eq!(cpu.pc, 0x38);
    cpu.set_int_line(false);
    assert!(!cpu.int_pending());
}

#[test]
fn nmi_keeps_iff2_and_retn_restores_iff1() {
    let mut bus = TestBus::with(&[0x00, 0x00]);
    bus.mem[0x66] = 0xED;
    bus.mem[0x67] = 0x45; // RETN
    let mut cpu = cpu_at(1);
    cpu.iff1 = true;
    cpu.iff2 = true;
    cpu.nmi();
    assert!(cpu.nmi_pending());
    assert_eq!(cpu.step(&mut bus), TStates(11));
    assert_eq!(cpu.pc, 0x66);
    assert!(!cpu.iff1 && cpu.iff2 && !cpu.nmi_pending());
    assert_eq!(cpu.step(&mut bus), TStates(14));
    assert_eq!(cpu.pc, 1);
    assert!(cpu.iff1);
}

#[test]
fn nmi_is_taken_with_interrupts_disabled() {
    let mut bus = TestBus::with(&[0x00]);
    let mut cpu = cpu_at(0x10);
    cpu.nmi();
    let r = cpu.run(&mut bus, 1);
    assert_eq!((r.instructions, r.tstates), (1, 11 + 4));
    assert_eq!(cpu.pc, 0x67);
}

#[test]
fn halt_spins_on_nops_and_wakes_past_the_halt() {
    // NOP; HALT
    let mut bus = TestBus::with(&[0x00, 0x76, 0x00]);
    let mut cpu = cpu_at(0);
    cpu.im = 1;
    cpu.set_r(0x7F);
    assert_eq!(cpu.step(&mut bus).0 + cpu.step(&mut bus).0, 8);
    assert!(cpu.halted());
    assert_eq!(cpu.pc, 1, "PC stays on the HALT opcode");
    assert_eq!(cpu.r(), 0x01);
    // Halted NOPs: 4 T each, R counts, PC stays.
    assert_eq!(cpu.step(&mut bus), TStates(4));
    assert_eq!((cpu.pc, cpu.r()), (1, 0x02));
    // run() does not burn NOPs: it reports the halt (here a dead end: DI).
    let r = cpu.run(&mut bus, 1000);
    assert_eq!((r.reason, r.instructions, r.tstates), (StopReason::Halted { interrupts_enabled: false }, 0, 0));
    cpu.iff1 = true;
    let r = cpu.run(&mut bus, 1000);
    assert_eq!(r.reason, StopReason::Halted { interrupts_enabled: true });
    // An interrupt wakes it and returns past the HALT.
    cpu.irq(0xFF);
    let r = cpu.run(&mut bus, 1);
    assert_eq!((r.reason, r.tstates), (StopReason::BudgetSpent, 13 + 4));
    assert!(!cpu.halted());
    assert_eq!(word_at(&bus, cpu.sp), 2);
}

#[test]
fn nmi_wakes_a_halted_cpu_with_interrupts_disabled() {
    let mut bus = TestBus::with(&[0xF3, 0x76]);
    let mut cpu = cpu_at(0);
    let r = cpu.run(&mut bus, 10);
    assert_eq!(r.reason, StopReason::Halted { interrupts_enabled: false });
    assert_eq!(r.instructions, 2);
    cpu.nmi();
    cpu.step(&mut bus);
    assert_eq!((cpu.pc, word_at(&bus, cpu.sp)), (0x66, 2));
}

#[test]
fn r_counts_m1_cycles_and_keeps_bit_7() {
    // NOP; LD IX,nn (DD 21); RLC B (CB 00); RLC (IX+1) (DD CB 01 06); NEG (ED 44); LD A,R (ED 5F)
    let prog = [0x00, 0xDD, 0x21, 0x00, 0x90, 0xCB, 0x00, 0xDD, 0xCB, 0x01, 0x06, 0xED, 0x44, 0xED, 0x5F];
    let mut bus = TestBus::with(&prog);
    let mut cpu = cpu_at(0);
    cpu.set_r(0xFE);
    cpu.step(&mut bus);
    assert_eq!(cpu.r(), 0xFF);
    cpu.step(&mut bus);
    assert_eq!(cpu.r(), 0x81, "wraps within 7 bits, bit 7 kept");
    cpu.step(&mut bus);
    assert_eq!(cpu.r(), 0x83);
    assert_eq!(cpu.step(&mut bus), TStates(23));
    assert_eq!(cpu.r(), 0x85, "DDCB: only the two prefixes are M1 cycles");
    cpu.step(&mut bus);
    cpu.iff2 = true;
    assert_eq!(cpu.step(&mut bus), TStates(9));
    assert_eq!(cpu.a, 0x89, "LD A,R sees R after its own two M1 cycles");
    assert_eq!(cpu.f & 0x04, 0x04, "P/V = IFF2");
    assert_eq!(cpu.f & 0x80, 0x80);
}

#[test]
fn ld_r_a_sets_bit_7() {
    let mut bus = TestBus::with(&[0xED, 0x4F, 0x00]);
    let mut cpu = cpu_at(0);
    cpu.a = 0x80;
    cpu.step(&mut bus);
    assert_eq!(cpu.r(), 0x80);
    cpu.step(&mut bus);
    assert_eq!(cpu.r(), 0x81);
}

#[test]
fn io_instructions_put_the_right_port_on_the_bus() {
    // IN A,(0x12); OUT (0x34),A; IN D,(C); OUT (C),E; IN F,(C); OUT (C),0
    let prog = [0xDB, 0x12, 0xD3, 0x34, 0xED, 0x50, 0xED, 0x59, 0xED, 0x70, 0xED, 0x71];
    let mut bus = TestBus::with(&prog);
    bus.port_value = 0x81;
    let mut cpu = cpu_at(0);
    cpu.a = 0x56;
    cpu.set_bc(0xABCD);
    cpu.e = 0x77;
    cpu.f = 0x01;
    assert_eq!(cpu.step(&mut bus), TStates(11));
    assert_eq!((cpu.a, cpu.wz), (0x81, 0x5613));
    assert_eq!(cpu.step(&mut bus), TStates(11));
    assert_eq!(cpu.wz, 0x8135);
    assert_eq!(cpu.step(&mut bus), TStates(12));
    assert_eq!(cpu.d, 0x81);
    assert_eq!(cpu.f, 0x80 | 0x04 | 0x01, "S, even parity, C kept");
    assert_eq!(cpu.step(&mut bus), TStates(12));
    bus.port_value = 0x00;
    let d = cpu.d;
    assert_eq!(cpu.step(&mut bus), TStates(12));
    assert_eq!(cpu.d, d);
    assert_eq!(cpu.f, 0x40 | 0x04 | 0x01, "IN F,(C) sets flags only");
    assert_eq!(cpu.step(&mut bus), TStates(12));
    assert_eq!(bus.inputs, vec![0x5612, 0xABCD, 0xABCD]);
    assert_eq!(bus.outputs, vec![(0x8134, 0x81), (0xABCD, 0x77), (0xABCD, 0x00)]);
    assert_eq!(cpu.wz, 0xABCE);
}

#[test]
fn ini_flags() {
    let mut bus = TestBus::with(&[0xED, 0xA2]);
    bus.port_value = 0x80;
    let mut cpu = cpu_at(0);
    cpu.set_bc(0x0110);
    cpu.set_hl(0x4000);
    assert_eq!(cpu.step(&mut bus), TStates(16));
    assert_eq!(bus.inputs, vec![0x0110], "INI uses B before the decrement");
    assert_eq!(bus.mem[0x4000], 0x80);
    assert_eq!((cpu.b, cpu.hl(), cpu.wz), (0, 0x4001, 0x0111));
    // Z from B = 0; N from data bit 7; 0x80 + (C + 1) = 0x91 < 256: no H/C;
    // P = parity((0x91 & 7) ^ B) = parity(1) = odd: clear.
    assert_eq!(cpu.f, 0x42);
}

#[test]
fn outi_flags_carry_out() {
    let mut bus = TestBus::with(&[0xED, 0xA3]);
    bus.mem[0x40FF] = 0xF0;
    let mut cpu = cpu_at(0);
    cpu.set_bc(0x2A07);
    cpu.set_hl(0x40FF);
    cpu.step(&mut bus);
    assert_eq!(bus.outputs, vec![(0x2907, 0xF0)], "OUTI decrements B first");
    assert_eq!(cpu.hl(), 0x4100);
    // B = 0x29: S clear, Y (bit 5) and X (bit 3) set; data bit 7 gives N;
    // 0xF0 + L (0x00) = 0xF0: no carry; parity((0xF0 & 7) ^ 0x29) = parity(0x29): odd.
    assert_eq!(cpu.f, 0x20 | 0x08 | 0x02);
}

#[test]
fn otir_repeats_with_21_t_and_ends_with_16() {
    let mut bus = TestBus::with(&[0xED, 0xB3, 0x00]);
    bus.mem[0x5000..0x5003].copy_from_slice(&[1, 2, 3]);
    let mut cpu = cpu_at(0);
    cpu.set_bc(0x0398);
    cpu.set_hl(0x5000);
    let t: Vec<u64> = (0..3).map(|_| cpu.step(&mut bus).0).collect();
    assert_eq!(t, vec![21, 21, 16]);
    assert_eq!(cpu.pc, 2);
    assert_eq!(bus.outputs, vec![(0x0298, 1), (0x0198, 2), (0x0098, 3)]);
    assert_eq!(cpu.f & 0x40, 0x40);
}

#[test]
fn inir_repeats_until_b_is_zero() {
    let mut bus = TestBus::with(&[0xED, 0xB2]);
    bus.port_value = 0x5A;
    let mut cpu = cpu_at(0);
    cpu.set_bc(0x0210);
    cpu.set_hl(0x6000);
    assert_eq!(cpu.step(&mut bus), TStates(21));
    assert_eq!(cpu.pc, 0);
    assert_eq!(cpu.step(&mut bus), TStates(16));
    assert_eq!(cpu.pc, 2);
    assert_eq!(&bus.mem[0x6000..0x6002], &[0x5A, 0x5A]);
    assert_eq!(bus.inputs, vec![0x0210, 0x0110]);
}

#[test]
fn ldir_timing_and_memptr() {
    let mut bus = TestBus::with(&[0x00, 0xED, 0xB0]);
    bus.mem[0x3000..0x3003].copy_from_slice(&[7, 8, 9]);
    let mut cpu = cpu_at(1);
    cpu.set_hl(0x3000);
    cpu.set_de(0x3100);
    cpu.set_bc(3);
    assert_eq!(cpu.step(&mut bus), TStates(21));
    assert_eq!((cpu.pc, cpu.wz), (1, 2));
    assert_eq!(cpu.f & 0x04, 0x04, "P/V while BC != 0");
    assert_eq!(cpu.step(&mut bus), TStates(21));
    assert_eq!(cpu.step(&mut bus), TStates(16));
    assert_eq!((cpu.pc, cpu.bc()), (3, 0));
    assert_eq!(cpu.f & 0x04, 0);
    assert_eq!(&bus.mem[0x3100..0x3103], &[7, 8, 9]);
}

#[test]
fn cpir_stops_on_a_match_with_16_t() {
    let mut bus = TestBus::with(&[0xED, 0xB1]);
    bus.mem[0x3000..0x3004].copy_from_slice(&[1, 2, 0x42, 4]);
    let mut cpu = cpu_at(0);
    cpu.a = 0x42;
    cpu.set_hl(0x3000);
    cpu.set_bc(10);
    let t: Vec<u64> = (0..3).map(|_| cpu.step(&mut bus).0).collect();
    assert_eq!(t, vec![21, 21, 16]);
    assert_eq!((cpu.pc, cpu.hl(), cpu.bc()), (2, 0x3003, 7));
    assert_eq!(cpu.f & 0x40, 0x40, "Z: found");
}

#[test]
fn prefix_chain_is_one_instruction() {
    // DD FD DD 21 34 12: only the last prefix counts; the others are 4 T NOPs.
    let mut bus = TestBus::with(&[0xDD, 0xFD, 0xDD, 0x21, 0x34, 0x12, 0xFD, 0x00]);
    let mut cpu = cpu_at(0);
    let r = cpu.run(&mut bus, 1);
    assert_eq!((r.instructions, r.tstates), (1, 4 + 4 + 14));
    assert_eq!((cpu.ix, cpu.iy, cpu.pc, cpu.r()), (0x1234, 0, 6, 4));
    // FD before an opcode that does not use HL: a 4 T NOP prefix.
    assert_eq!(cpu.step(&mut bus), TStates(8));
    assert_eq!(cpu.pc, 8);
}

#[test]
fn scf_takes_xy_from_a_or_f_depending_on_q() {
    // XOR A (flags written: Q = F); SCF. Then LD A,0x28 (no flags); SCF.
    let mut bus = TestBus::with(&[0xAF, 0x37, 0x3E, 0x28, 0x37]);
    let mut cpu = cpu_at(0);
    cpu.step(&mut bus);
    cpu.step(&mut bus);
    assert_eq!(cpu.f, 0x44 | 0x01, "after a flag-setting instruction X/Y = A's (0)");
    // F gains X from outside; LD A,n computes no flags, so Q = 0 and SCF takes
    // X/Y from F | A.
    cpu.f |= 0x08;
    cpu.step(&mut bus);
    cpu.step(&mut bus);
    assert_eq!(cpu.f & 0x28, 0x28, "(Q ^ F) | A");
}

#[test]
fn run_stops_on_trap_before_executing() {
    let mut bus = TestBus::with(&[0x00, 0x00, 0x00, 0x00]);
    bus.trap_at = Some(2);
    let mut cpu = cpu_at(0);
    let r = cpu.run(&mut bus, 100);
    assert_eq!((r.reason, r.instructions, r.tstates), (StopReason::Trap(2), 2, 8));
    assert_eq!(cpu.pc, 2);
}

#[test]
fn run_stops_after_a_blocking_output() {
    let mut bus = TestBus::with(&[0x00, 0xD3, 0x10, 0x00]);
    bus.stop_after_output = true;
    let mut cpu = cpu_at(0);
    let r = cpu.run(&mut bus, 100);
    assert_eq!((r.reason, r.instructions, r.tstates), (StopReason::BusStop, 2, 15));
    assert_eq!(cpu.pc, 3);
}

#[test]
fn zero_budget_runs_nothing() {
    let mut bus = TestBus::with(&[0x00]);
    let mut cpu = cpu_at(0);
    let r = cpu.run(&mut bus, 0);
    assert_eq!((r.reason, r.instructions, r.tstates), (StopReason::BudgetSpent, 0, 0));
}

#[test]
fn r_register_inside_run() {
    // NOP; NOP; LD A,R; LD B,A; LD A,0x85; LD R,A; NOP; DD 00 (prefix counts); LD A,R
    let prog = [0x00, 0x00, 0xED, 0x5F, 0x47, 0x3E, 0x85, 0xED, 0x4F, 0x00, 0xDD, 0x00, 0xED, 0x5F];
    let mut bus = TestBus::with(&prog);
    let mut cpu = cpu_at(0);
    cpu.set_r(0x7E);
    let r = cpu.run(&mut bus, 9);
    assert_eq!(r.instructions, 9);
    assert_eq!(cpu.b, 0x02, "0x7E + 4 M1 cycles, wrapping in 7 bits");
    assert_eq!(cpu.a, 0x85 + 1 + 2 + 2);
    assert_eq!(cpu.r(), 0x8A);
    // Acknowledging an interrupt inside run counts one M1 cycle too.
    let mut bus = TestBus::with(&[0x00, 0x00]);
    bus.mem[0x38] = 0xED;
    bus.mem[0x39] = 0x5F;
    let mut cpu = cpu_at(0);
    cpu.im = 1;
    cpu.iff1 = true;
    cpu.set_r(0);
    cpu.run(&mut bus, 1);
    cpu.irq(0xFF);
    cpu.run(&mut bus, 1);
    assert_eq!(cpu.a, 4, "NOP, acknowledge, ED, 5F");
    assert_eq!(cpu.r(), 4);
}
