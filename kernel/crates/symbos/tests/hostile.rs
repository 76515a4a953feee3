//! Hostile input: thousands of mutated executables (bytes flipped in the header, the
//! areas and the relocation table, files cut short or grown) are each refused with a
//! reason or loaded into a layout that keeps every area, the frame and the command
//! line inside the bank; whatever loads then runs for a while with random console
//! input and ends, waits or faults, never panicking. Deterministic (a fixed xorshift).

use zbeam_cpm::Disk;
use zbeam_symbos::exe;
use zbeam_symbos::machine::{Machine, Script};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn exe(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{name}.exe", env!("OUT_DIR"))).unwrap()
}

#[test]
fn mutated_executables_are_refused_or_load_within_the_bank_and_run_safely() {
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let originals: Vec<Vec<u8>> =
        ["hello", "input", "files", "kernel", "crash", "echo"].iter().map(|n| exe(n)).collect();
    let (mut loaded, mut refused) = (0, 0);
    for round in 0..20_000 {
        let mut f = originals[round % originals.len()].clone();
        for _ in 0..1 + rng.below(4) {
            match rng.below(6) {
                // Anywhere in the header, more often in its first 64 bytes.
                0 => {
                    let i = rng.below(64) % f.len();
                    f[i] = rng.next() as u8;
                }
                1 => {
                    let i = rng.below(256) % f.len();
                    f[i] ^= 1 << rng.below(8);
                }
                // The relocation table (the file's tail).
                2 => {
                    let n = f.len();
                    let i = n - 1 - rng.below(64.min(n));
                    f[i] = rng.next() as u8;
                }
                3 => {
                    let n = rng.below(f.len());
                    f.truncate(n.max(1));
                }
                4 => f.extend((0..rng.below(300)).map(|_| rng.next() as u8)),
                _ => {
                    let i = rng.below(f.len());
                    f[i] = rng.next() as u8;
                }
            }
        }
        let mut mem = Box::new([0u8; 0x1_0000]);
        match exe::load(&f, &mut mem, 2, 16) {
            Err(e) => {
                refused += 1;
                assert!(!e.to_string().is_empty());
            }
            Ok(l) => {
                loaded += 1;
                for i in 0..3 {
                    assert!(l.addr[i] >= exe::APP_START && l.addr[i] as u32 + l.total[i] as u32 <= exe::TRANSFER_END);
                }
                assert!(l.addr[2] >= exe::TRANSFER_START);
                assert!(
                    l.stack >= l.addr[2] && l.stack as u32 + exe::FRAME as u32 <= l.addr[2] as u32 + l.total[2] as u32
                );
                assert!(l.start >= l.addr[0] && l.start < l.addr[0] + l.header.len[0]);
                let keys: Vec<u8> = (0..rng.below(40)).map(|_| rng.next() as u8).collect();
                let mut m = Machine::new(&f, "A:\\X.COM", "a b", Disk::new().into_shared()).unwrap();
                let mut con = Script { input: &keys, at: 0, out: Vec::new() };
                let _ = m.run(200_000, &mut con);
            }
        }
    }
    assert!(loaded > 100 && refused > 100, "both kinds seen: {loaded} loaded, {refused} refused");
}

/// Random registers, random messages to every system process (kernel, system manager
/// with random file manager functions and registers, SymShell) and random memory:
/// every trap returns a step, never panics, and files stay on the disk's terms.
#[test]
fn random_calls_never_panic() {
    use zbeam_symbos::session::{rst, NoPeers, Session, TrapEnd};
    use zbeam_symbos::{pid, Regs};
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let file = exe("hello");
    let disk = Disk::new().into_shared();
    disk.lock().put("A.TXT", b"a\r\nb\r\n").unwrap();
    let targets = [pid::KERNEL, pid::SYSTEM, pid::SHELL, pid::APP, pid::DESKTOP, 99, 255];
    let traps = [
        0u16,
        rst::MSGSLP,
        rst::MSGSND,
        rst::MSGGET,
        rst::BNKSCL,
        rst::BNKFCL,
        rst::MTSOFT,
        rst::MTHARD,
        0xff00,
        0xffff,
    ];
    let (mut steps, mut ended) = (0, 0);
    for _ in 0..200 {
        let mut mem = Box::new([0u8; 0x1_0000]);
        let layout = exe::load(&file, &mut mem, 2, pid::APP).unwrap();
        let mut s = Session::new(&layout, disk.clone());
        let keys: Vec<u8> = (0..64).map(|_| rng.next() as u8).collect();
        let mut con = Script { input: &keys, at: 0, out: Vec::new() };
        for _ in 0..200 {
            // A message at IY: a command the receiver knows, most of the time.
            let iy = rng.next() as u16;
            for i in 0..14u16 {
                mem[iy.wrapping_add(i) as usize] = rng.next() as u8;
            }
            if rng.below(3) > 0 {
                mem[iy as usize] = [1, 2, 3, 7, 16, 17, 26, 30, 64, 65, 66, 67, 68, 69, 70, 71][rng.below(16)];
            }
            mem[iy.wrapping_add(1) as usize] = [7, 8, 17, 18, 19, 20, 21, 22, 25, 35, 36, 38, 39, 42][rng.below(14)];
            // Plausible buffer banks, mostly the program's own.
            let bank = if rng.below(8) == 0 { rng.next() as u16 } else { 1 };
            let target = targets[rng.below(targets.len())] as u16;
            let mut r = Regs {
                af: rng.next() as u16,
                bc: rng.next() as u16,
                de: if rng.below(2) == 0 { bank } else { rng.next() as u16 },
                hl: [
                    0x8100, 0x8109, 0x8118, 0x811b, 0x8121, 0x8124, 0x8127, 0x812a, 0x812d, 0x8130, 0x8133, 0x816c,
                    0x8103,
                ][rng.below(13)],
                ix: target << 8 | 0xff,
                iy,
                sp: rng.next() as u16,
                pc: traps[rng.below(traps.len())],
            };
            if r.pc == rst::BNKSCL {
                let back = mem[r.sp as usize] as u16 | (mem[r.sp.wrapping_add(1) as usize] as u16) << 8;
                let t = r.hl.to_le_bytes();
                mem[back as usize] = t[0];
                mem[back.wrapping_add(1) as usize] = t[1];
                r.af = (r.af & 0xff) | bank << 8;
            }
            steps += 1;
            // A call after an exit still answers (the host stops calling; here it goes on).
            if let TrapEnd::Exit(_) = s.trap(&mut r, &mut mem, &mut con, &mut NoPeers) {
                ended += 1;
            }
        }
    }
    assert!(steps == 40_000 && ended > 10, "{steps} calls, {ended} ended a program");
    // The disk is still a CP/M disk whose files read back.
    let d = disk.lock();
    for n in d.names() {
        assert!(d.get(&n).is_some());
    }
}
