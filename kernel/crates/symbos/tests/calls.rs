//! Each kernel restart, kernel function, system-manager and SymShell message and
//! file-manager function on its own, through `Session::trap` with registers and
//! memory set by hand: results, error codes and the faults that end a program.

use zbeam_cpm::{Disk, SharedDisk};
use zbeam_symbos::files::{err, func};
use zbeam_symbos::machine::Script;
use zbeam_symbos::session::{kfn, rst, Exit, NoPeers, Session, TrapEnd};
use zbeam_symbos::{exe, pid, Fault, Memory, Message, Regs, FLAG_C, FLAG_Z};

const RET_TO: u16 = 0x1234;
const SP: u16 = 0xf000;
const MSG: u16 = 0xc800;
const BUF: u16 = 0xd000;
const PATH: u16 = 0xe000;

struct T {
    s: Session,
    mem: Box<Memory>,
    con: Script<'static>,
    disk: SharedDisk,
}

fn t() -> T {
    t_with(b"")
}

fn t_with(input: &'static [u8]) -> T {
    let file = std::fs::read(format!("{}/hello.exe", env!("OUT_DIR"))).unwrap();
    let mut mem: Box<Memory> = Box::new([0; 0x1_0000]);
    let layout = exe::load(&file, &mut mem, 2, pid::APP).unwrap();
    let disk = Disk::new().into_shared();
    disk.lock().put("README.TXT", b"one\r\ntwo\n\rthree\rfour\x1a").unwrap();
    T { s: Session::new(&layout, disk.clone()), mem, con: Script { input, at: 0, out: Vec::new() }, disk }
}

impl T {
    /// Traps at `pc` with `r` (SP and the return address set here).
    fn trap(&mut self, pc: u16, mut r: Regs) -> (TrapEnd, Regs) {
        r.pc = pc;
        r.sp = SP;
        self.mem[SP as usize..SP as usize + 2].copy_from_slice(&RET_TO.to_le_bytes());
        let step = self.s.trap(&mut r, &mut self.mem, &mut self.con, &mut NoPeers);
        (step, r)
    }

    /// A kernel function through RST 20h (the address after the RST), or through
    /// RST 28h (the address in HL) for those that take no HL.
    fn bank_call(&mut self, target: u16, r: Regs) -> (TrapEnd, Regs) {
        if matches!(target, kfn::MTGPID | kfn::BNKGET | kfn::MEMSUM) {
            return self.trap(rst::BNKFCL, Regs { hl: target, ..r });
        }
        self.mem[RET_TO as usize..RET_TO as usize + 2].copy_from_slice(&target.to_le_bytes());
        let (step, r) = self.trap(rst::BNKSCL, r);
        if step == TrapEnd::Continue {
            assert_eq!(r.pc, RET_TO + 2, "returns behind the address");
        }
        (step, r)
    }

    /// Sends `m` to `to` and returns the status and the answer (from `to`), if one came.
    fn send(&mut self, to: u8, m: &[u8]) -> (u8, Option<Message>) {
        self.mem[MSG as usize..MSG as usize + 14].fill(0);
        self.mem[MSG as usize..MSG as usize + m.len()].copy_from_slice(m);
        let (step, r) =
            self.trap(rst::MSGSND, Regs { ix: (to as u16) << 8 | pid::APP as u16, iy: MSG, ..Regs::default() });
        assert_eq!(step, TrapEnd::Continue);
        assert_eq!((r.pc, r.sp), (RET_TO, SP + 2), "returns as a RET");
        let status = r.ix as u8;
        let (step, r) = self.trap(rst::MSGGET, Regs { ix: (to as u16) << 8 | 0xff, iy: MSG, ..Regs::default() });
        assert_eq!(step, TrapEnd::Continue);
        let got = (r.ix as u8 == 1).then(|| self.mem[MSG as usize..MSG as usize + 14].try_into().unwrap());
        (status, got)
    }

    fn path(&mut self, at: u16, p: &str) {
        self.mem[at as usize..at as usize + p.len()].copy_from_slice(p.as_bytes());
        self.mem[at as usize + p.len()] = 0;
    }

    /// File manager function `f` with `r`; the registers out.
    fn fm(&mut self, f: u8, r: Regs) -> Regs {
        let mut m = vec![26, f];
        for v in [r.af, r.bc, r.de, r.hl, r.ix, r.iy] {
            m.extend_from_slice(&v.to_le_bytes());
        }
        let (status, answer) = self.send(pid::SYSTEM, &m);
        assert_eq!(status, 1);
        let a = answer.expect("the system manager answers");
        assert_eq!((a[0], a[1]), (154, f));
        let w = |i: usize| u16::from_le_bytes([a[i], a[i + 1]]);
        Regs { af: w(2), bc: w(4), de: w(6), hl: w(8), ix: w(10), iy: w(12), ..Regs::default() }
    }

    fn open(&mut self, name: &str, new: bool) -> u8 {
        self.path(PATH, name);
        let r =
            self.fm(if new { func::FILNEW } else { func::FILOPN }, Regs { hl: PATH, ix: 0x0100, ..Regs::default() });
        assert!(!r.flag(FLAG_C), "open {name}: error {}", r.a());
        r.a()
    }
}

fn err_of(r: &Regs) -> Option<u8> {
    r.flag(FLAG_C).then(|| r.a())
}

#[test]
fn restarts_that_end_the_program() {
    let mut x = t();
    assert_eq!(x.trap(0, Regs::default()).0, TrapEnd::Exit(Exit::Fault(Fault::Reset)));
    assert_eq!(x.trap(0xff03, Regs::default()).0, TrapEnd::Exit(Exit::Fault(Fault::Interbank(0xff03))));
    assert_eq!(x.bank_call(0x8103, Regs::default()).0, TrapEnd::Exit(Exit::Fault(Fault::Unserved(0x8103))));
    assert_eq!(x.trap(rst::MTSOFT, Regs::default()).0, TrapEnd::Yield);
    assert_eq!(x.trap(rst::MTHARD, Regs::default()).0, TrapEnd::Yield);
}

#[test]
fn messages_wait_poll_filter_and_bound() {
    let mut x = t();
    // Nothing there: MSGSLP waits (not for input), MSGGET answers 0.
    let (step, _) = x.trap(rst::MSGSLP, Regs { ix: 0xffff, iy: MSG, ..Regs::default() });
    assert_eq!(step, TrapEnd::Wait { input: false });
    assert_eq!(x.send(pid::APP, b"x").0, 1, "to itself");
    // To processes that are not there: the desktop, an unknown id.
    assert_eq!(x.send(pid::DESKTOP, b"x").0, 2);
    assert_eq!(x.send(99, b"x").0, 2);
    // A host delivers from another program; a receive from a given sender skips others.
    assert!(x.s.deliver(40, [7; 14]));
    let (_, r) = x.trap(rst::MSGSLP, Regs { ix: 40 << 8 | 0xff, iy: MSG, ..Regs::default() });
    assert_eq!((r.ix, x.mem[MSG as usize]), (40 << 8 | 1, 7));
    assert_eq!(x.s.queued(), 0, "send to self above was taken by its own MSGGET");
    for _ in 0..zbeam_symbos::session::QUEUE {
        assert!(x.s.deliver(41, [0; 14]));
    }
    assert!(!x.s.deliver(41, [0; 14]), "the queue is bounded");
    let (_, r) = x.trap(rst::MSGSND, Regs { ix: (pid::APP as u16) << 8 | 0xff, iy: MSG, ..Regs::default() });
    assert_eq!(r.ix as u8, 0, "queue full");
}

#[test]
fn kernel_and_system_manager_commands() {
    let mut x = t();
    for (cmd, status) in [(1u8, 1u8), (2, 0), (3, 1), (4, 0), (5, 0), (6, 0), (7, 1), (8, 0), (9, 0), (10, 0)] {
        let (s, a) = x.send(pid::KERNEL, &[cmd, 99]);
        let a = a.unwrap();
        assert_eq!((s, a[0], a[1]), (1, cmd + 128, status), "kernel command {cmd}");
    }
    assert_eq!(x.send(pid::KERNEL, &[11]), (1, None), "no answer to an unknown command");
    let (_, a) = x.send(pid::SYSTEM, &[16, 0, 0, 0]);
    assert_eq!((a.unwrap()[0], a.unwrap()[1], a.unwrap()[8]), (144, 3, err::UNSUPPORTED));
    let (_, a) = x.send(pid::SYSTEM, &[30, 0, 0, 0, 1]);
    assert_eq!((a.unwrap()[0], a.unwrap()[1]), (158, 1));
    let (_, a) = x.send(pid::SYSTEM, &[30, 0, 0, 0, 2]);
    assert_eq!(a.unwrap()[1], 0);
    assert_eq!(x.send(pid::SYSTEM, &[17, 9]), (1, None), "ending another application: nothing");
    // PRGEND of our own application id, and MTDELP of our own process, end it.
    x.mem[MSG as usize..MSG as usize + 2].copy_from_slice(&[17, zbeam_symbos::APP_ID]);
    let ix = (pid::SYSTEM as u16) << 8 | 0xff;
    assert_eq!(x.trap(rst::MSGSND, Regs { ix, iy: MSG, ..Regs::default() }).0, TrapEnd::Exit(Exit::Normal));
    let mut y = t();
    y.mem[MSG as usize..MSG as usize + 2].copy_from_slice(&[2, pid::APP]);
    let ix = (pid::KERNEL as u16) << 8 | 0xff;
    assert_eq!(y.trap(rst::MSGSND, Regs { ix, iy: MSG, ..Regs::default() }).0, TrapEnd::Exit(Exit::Normal));
}

#[test]
fn bank_functions() {
    let mut x = t();
    let b = exe::BANK as u16;
    // RST 20h takes the address after the RST and returns behind it.
    x.mem[RET_TO as usize..RET_TO as usize + 2].copy_from_slice(&kfn::BNKGET.to_le_bytes());
    let (_, r) = x.trap(rst::BNKSCL, Regs::default());
    assert_eq!((r.de as u8, r.pc), (exe::BANK, RET_TO + 2));
    let (_, r) = x.bank_call(kfn::MTGCNT, Regs { de: 0xffff, ..Regs::default() });
    assert_eq!((r.iy, r.ix, r.de), (0, 0, 0), "the script console's clock stands at 0");
    let (_, r) = x.bank_call(kfn::MTGPID, Regs::default());
    assert_eq!(r.de as u8, pid::APP);
    let (_, r) = x.bank_call(kfn::BNKWBT, Regs { af: b << 8, hl: 0x9000, bc: 0xab00, ..Regs::default() });
    assert_eq!((x.mem[0x9000], r.hl), (0xab, 0x9001));
    let (_, r) = x.bank_call(kfn::BNKRBT, Regs { af: b << 8, hl: 0x9000, ..Regs::default() });
    assert_eq!((r.bc >> 8, r.hl), (0xab, 0x9001));
    x.bank_call(kfn::BNKWWD, Regs { af: b << 8, hl: 0x9002, bc: 0xbeef, ..Regs::default() });
    let (_, r) = x.bank_call(kfn::BNKRWD, Regs { af: b << 8, hl: 0x9002, ..Regs::default() });
    assert_eq!((r.bc, r.hl), (0xbeef, 0x9004));
    let (_, r) = x.bank_call(kfn::BNKMBT, Regs { af: b << 8, hl: 0x9000, de: 0x010f, ..Regs::default() });
    assert_eq!((r.a(), x.mem[0x9000]), (0x0b, 0x0b));
    x.bank_call(kfn::BNKCOP, Regs { af: (b << 4 | b) << 8, hl: 0x9000, de: 0x9100, bc: 4, ..Regs::default() });
    assert_eq!(x.mem[0x9100..0x9104], x.mem[0x9000..0x9004]);
    // MEMGET from the bank's free space: transfer memory lies in C000-FEFF; a 16K-block
    // request does not cross a block; too much fails; MEMFRE gives it back.
    let (_, r) = x.bank_call(kfn::MEMSUM, Regs::default());
    let free = (r.de as u32 & 0xff) << 16 | r.ix as u32;
    assert_eq!(r.de >> 8, 1);
    let (_, r) = x.bank_call(kfn::MEMGET, Regs { de: 2, bc: 0x100, ..Regs::default() });
    assert!(!r.flag(FLAG_C) && r.hl >= 0xc000 && r.a() == exe::BANK);
    let t_at = r.hl;
    let (_, r) = x.bank_call(kfn::MEMGET, Regs { de: 1, bc: 0x3000, ..Regs::default() });
    assert!(!r.flag(FLAG_C) && r.hl / 0x4000 == (r.hl + 0x2fff) / 0x4000, "{:#x}", r.hl);
    let d_at = r.hl;
    let (_, r) = x.bank_call(kfn::MEMGET, Regs { de: 0, bc: 0xf000, ..Regs::default() });
    assert!(r.flag(FLAG_C));
    x.bank_call(kfn::MEMFRE, Regs { af: b << 8, hl: t_at, bc: 0x100, ..Regs::default() });
    x.bank_call(kfn::MEMFRE, Regs { af: b << 8, hl: d_at, bc: 0x3000, ..Regs::default() });
    let (_, r) = x.bank_call(kfn::MEMSUM, Regs::default());
    assert_eq!((r.de as u32 & 0xff) << 16 | r.ix as u32, free, "all returned");
    // The free list is bounded: freeing every other of 80 one-byte blocks can only
    // remember FREE_RANGES ranges (2 are there already); the rest stays in use.
    let sum = |x: &mut T| {
        let (_, r) = x.bank_call(kfn::MEMSUM, Regs::default());
        (r.de as u32 & 0xff) << 16 | r.ix as u32
    };
    let before = sum(&mut x);
    let blocks: Vec<u16> =
        (0..80).map(|_| x.bank_call(kfn::MEMGET, Regs { de: 0, bc: 1, ..Regs::default() }).1.hl).collect();
    assert!(blocks.windows(2).all(|w| w[1] == w[0] + 1), "first fit, one after another");
    for &at in blocks.iter().step_by(2) {
        x.bank_call(kfn::MEMFRE, Regs { af: b << 8, hl: at, bc: 1, ..Regs::default() });
    }
    assert_eq!(before - 80 + (zbeam_symbos::session::FREE_RANGES as u32 - 2), sum(&mut x));
    // Any other bank ends the program.
    for (target, a) in
        [(kfn::BNKRBT, 0u16), (kfn::BNKWBT, 2), (kfn::BNKCOP, 0x01), (kfn::BNKCOP, 0x10), (kfn::MEMGET, 3)]
    {
        let (step, _) = t().bank_call(target, Regs { af: a << 8, bc: 1, ..Regs::default() });
        assert!(matches!(step, TrapEnd::Exit(Exit::Fault(Fault::ForeignBank(_)))), "{target:#x} bank {a:#x}: {step:?}");
    }
}

fn shell(x: &mut T, m: &[u8]) -> Option<Message> {
    let (s, a) = x.send(pid::SHELL, m);
    assert_eq!(s, 1);
    a
}

#[test]
fn symshell_messages() {
    let mut x = t_with(b"k\x03");
    x.mem[BUF as usize..BUF as usize + 3].copy_from_slice(b"ab\0");
    let a = shell(&mut x, &[67, 0, 1, BUF as u8, (BUF >> 8) as u8, 5]).unwrap();
    assert_eq!((a[0], a[3]), (195, 0));
    let a = shell(&mut x, &[66, 0, b'!']).unwrap();
    assert_eq!(a[0], 194);
    assert_eq!(x.con.out, b"ab!", "a string stops at its 0");
    let a = shell(&mut x, &[64, 0]).unwrap();
    assert_eq!((a[0], a[1], a[2]), (192, 0, b'k'));
    let a = shell(&mut x, &[64, 0]).unwrap();
    assert_eq!((a[1], a[3]), (1, 0), "^C is EOF");
    let a = shell(&mut x, &[70, 0, 1]).unwrap();
    assert_eq!((a[0], a[1]), (198, 1), "after the input ended: EOF");
    assert_eq!(shell(&mut x, &[71, 1, 1, 0, 0]).unwrap()[..4], [199, 0, 0, 252]);
    assert_eq!(shell(&mut x, &[99]).unwrap()[..4], [99 + 128, 0, 0, 255]);
    // PTHADD with the shell's path and with one given.
    x.path(PATH, "x/../y.txt");
    let a = shell(&mut x, &[69, 0, 0, PATH as u8, (PATH >> 8) as u8, BUF as u8, (BUF >> 8) as u8, 1]).unwrap();
    assert_eq!(&x.mem[BUF as usize..BUF as usize + 9], b"A:\\y.txt\0");
    assert_eq!((u16::from_le_bytes([a[1], a[2]]), u16::from_le_bytes([a[3], a[4]]), a[5]), (BUF + 8, BUF + 3, 0));
    assert_eq!(zbeam_symbos::shell::join(b"c:\\a", b"..\\.."), b"c:\\");
    assert_eq!(zbeam_symbos::shell::join(b"c:\\a", b"b\\"), b"c:\\a\\b\\");
    // A line into another bank ends the program; after EXIT 0 the shell refuses.
    assert!(shell(&mut x, &[68, 0]).is_none());
    assert_eq!(shell(&mut x, &[66, 0, b'x']).unwrap()[3], 254);
    let mut y = t();
    y.mem[MSG as usize..MSG as usize + 5].copy_from_slice(&[65, 0, 0, 0, 0xd0]);
    let ix = (pid::SHELL as u16) << 8 | 0xff;
    let (step, _) = y.trap(rst::MSGSND, Regs { ix, iy: MSG, ..Regs::default() });
    assert_eq!(step, TrapEnd::Exit(Exit::Fault(Fault::ForeignBank(0))));
}

#[test]
fn symshell_input_waits_and_blur_ends_input() {
    let mut x = t();
    x.con.input = b"";
    // Blur: input answers EOF at once, output still works.
    assert!(shell(&mut x, &[68, 1]).is_none());
    assert_eq!(shell(&mut x, &[64, 0]).unwrap()[1], 1);
    assert_eq!(shell(&mut x, &[66, 0, b'o']).unwrap()[3], 0);
}

#[test]
fn a_long_line_is_cut_at_255() {
    let line: &'static [u8] =
        Box::leak([b'x'; 300].iter().chain(b"\r").copied().collect::<Vec<u8>>().into_boxed_slice());
    let mut x = t_with(line);
    let a = shell(&mut x, &[65, 0, 1, BUF as u8, (BUF >> 8) as u8]).unwrap();
    assert_eq!((a[0], a[1]), (193, 0));
    assert_eq!(x.mem[BUF as usize + 254..BUF as usize + 256], [b'x', 0]);
}

#[test]
fn file_manager_read_side() {
    let mut x = t();
    let h = x.open("A:\\readme.txt", false);
    // FILLIN: CR LF, LF CR, a lone CR, then ^Z ends the file.
    let mut lines = Vec::new();
    loop {
        let r = x.fm(func::FILLIN, Regs { af: (h as u16) << 8, hl: BUF, de: 1, ..Regs::default() });
        assert_eq!(err_of(&r), None);
        if r.flag(FLAG_Z) {
            break;
        }
        let n = r.bc as u8 as usize;
        lines.push(String::from_utf8(x.mem[BUF as usize..BUF as usize + n].to_vec()).unwrap());
        assert_eq!((x.mem[BUF as usize + n], r.bc >> 8), (0, 1));
    }
    assert_eq!(lines, ["one", "two", "three", "four"]);
    // FILPOI: from the start, the pointer (signed), the end; outside the disk: error 7.
    let seek = |x: &mut T, c: u16, pos: i32| {
        let r = x.fm(
            func::FILPOI,
            Regs { af: (h as u16) << 8, bc: c, iy: (pos >> 16) as u16, ix: pos as u16, ..Regs::default() },
        );
        (err_of(&r), (r.iy as u32) << 16 | r.ix as u32)
    };
    assert_eq!(seek(&mut x, 0, 5), (None, 5));
    assert_eq!(seek(&mut x, 1, -2), (None, 3));
    assert_eq!(seek(&mut x, 2, 0), (None, 128));
    assert_eq!(seek(&mut x, 2, -200).0, Some(err::SEEK));
    assert_eq!(seek(&mut x, 3, 0).0, Some(err::SEEK));
    seek(&mut x, 0, 120);
    let r = x.fm(func::FILINP, Regs { af: (h as u16) << 8, hl: BUF, de: 1, bc: 20, ..Regs::default() });
    assert_eq!((err_of(&r), r.bc, r.flag(FLAG_Z)), (None, 8, false), "8 bytes were left");
    assert!(!x.fm(func::FILCLO, Regs { af: (h as u16) << 8, ..Regs::default() }).flag(FLAG_C));
    assert_eq!(err_of(&x.fm(func::FILCLO, Regs { af: (h as u16) << 8, ..Regs::default() })), Some(err::BAD_HANDLE));
    assert_eq!(err_of(&x.fm(func::FILINP, Regs { af: 9 << 8, de: 1, ..Regs::default() })), Some(err::BAD_HANDLE));
    // Names: another drive, a directory, a wildcard, a missing file.
    for (p, e) in [
        ("B:\\X.TXT", err::NO_DRIVE),
        ("A:\\D\\X.TXT", err::NO_PATH),
        ("*.TXT", err::BAD_NAME),
        ("NONE.TXT", err::NO_FILE),
        ("TOOLONGNAME.TXT", err::BAD_NAME),
    ] {
        x.path(PATH, p);
        let r = x.fm(func::FILOPN, Regs { hl: PATH, ix: 0x0100, ..Regs::default() });
        assert_eq!(err_of(&r), Some(e), "{p}");
    }
    // Seven handles, then error 10.
    for _ in 0..7 {
        x.open("README.TXT", false);
    }
    x.path(PATH, "README.TXT");
    assert_eq!(err_of(&x.fm(func::FILOPN, Regs { hl: PATH, ix: 0x0100, ..Regs::default() })), Some(err::NO_HANDLE));
}

#[test]
fn file_manager_write_side_and_directory() {
    let mut x = t();
    let h = x.open("NEW.DAT", true);
    x.mem[BUF as usize..BUF as usize + 300].fill(0x55);
    let r = x.fm(func::FILOUT, Regs { af: (h as u16) << 8, hl: BUF, de: 1, bc: 300, ..Regs::default() });
    assert_eq!((err_of(&r), r.bc, r.a()), (None, 300, 0));
    let on_disk = x.disk.lock().get("NEW.DAT").unwrap();
    assert_eq!(on_disk.len(), 384, "written to the disk at once");
    assert!(on_disk[..300].iter().all(|&b| b == 0x55) && on_disk[300..].iter().all(|&b| b == 0x1a));
    // Overwrite inside a record, then past the end after a seek: the gap reads as ^Z.
    x.fm(func::FILPOI, Regs { af: (h as u16) << 8, ix: 1, ..Regs::default() });
    x.mem[BUF as usize] = 0x66;
    x.fm(func::FILOUT, Regs { af: (h as u16) << 8, hl: BUF, de: 1, bc: 1, ..Regs::default() });
    x.fm(func::FILPOI, Regs { af: (h as u16) << 8, ix: 500, ..Regs::default() });
    x.fm(func::FILOUT, Regs { af: (h as u16) << 8, hl: BUF, de: 1, bc: 1, ..Regs::default() });
    let on_disk = x.disk.lock().get("NEW.DAT").unwrap();
    assert_eq!(
        (on_disk.len(), on_disk[0], on_disk[1], on_disk[2], on_disk[499], on_disk[500]),
        (512, 0x55, 0x66, 0x55, 0x1a, 0x66)
    );
    x.fm(func::FILCLO, Regs { af: (h as u16) << 8, ..Regs::default() });
    assert_eq!(x.disk.lock().get("NEW.DAT").unwrap().len(), 512);
    // DIRINP: skip, and a buffer that holds one entry.
    x.path(PATH, "A:/*.*");
    let r = x.fm(func::DIRINP, Regs { af: 1 << 8, hl: PATH, ix: 0x0100, de: BUF, bc: 100, iy: 0, ..Regs::default() });
    assert_eq!((err_of(&r), r.hl), (None, 2));
    assert_eq!(&x.mem[BUF as usize + 9..BUF as usize + 20], b"README.TXT\0");
    let r = x.fm(func::DIRINP, Regs { af: 1 << 8, hl: PATH, ix: 0x0100, de: BUF, bc: 100, iy: 1, ..Regs::default() });
    assert_eq!(r.hl, 1);
    assert_eq!(u32::from_le_bytes(x.mem[BUF as usize..BUF as usize + 4].try_into().unwrap()), 512);
    let r = x.fm(func::DIRINP, Regs { af: 1 << 8, hl: PATH, ix: 0x0100, de: BUF, bc: 25, iy: 0, ..Regs::default() });
    assert_eq!((r.hl, r.bc), (1, 5));
    // DIRPRR, DIRREN (to an existing name: 20), DIRDEL (no match: 13).
    x.path(PATH, "NEW.DAT");
    assert_eq!(err_of(&x.fm(func::DIRPRR, Regs { hl: PATH, ix: 0x0100, ..Regs::default() })), None);
    x.path(BUF, "README.TXT");
    assert_eq!(
        err_of(&x.fm(func::DIRREN, Regs { hl: PATH, de: BUF, ix: 0x0100, ..Regs::default() })),
        Some(err::EXISTS)
    );
    x.path(BUF, "A:\\OTHER.DAT");
    assert_eq!(
        err_of(&x.fm(func::DIRREN, Regs { hl: PATH, de: BUF, ix: 0x0100, ..Regs::default() })),
        Some(err::BAD_DEST)
    );
    x.path(BUF, "OLD.DAT");
    assert_eq!(err_of(&x.fm(func::DIRREN, Regs { hl: PATH, de: BUF, ix: 0x0100, ..Regs::default() })), None);
    assert_eq!(x.disk.lock().names(), ["README.TXT", "OLD.DAT"]);
    x.path(PATH, "*.DAT");
    assert_eq!(err_of(&x.fm(func::DIRDEL, Regs { hl: PATH, ix: 0x0100, ..Regs::default() })), None);
    assert_eq!(err_of(&x.fm(func::DIRDEL, Regs { hl: PATH, ix: 0x0100, ..Regs::default() })), Some(err::NO_FILE));
    // Storage: device 0 is the disk; sectors read and write; other devices are not there.
    let r = x.fm(func::STOINF, Regs::default());
    assert_eq!((r.a(), r.de >> 8, r.ix), (1, 2, 243));
    let r = x.fm(func::STOTRN, Regs { bc: 1 << 8, hl: BUF, de: 1, ..Regs::default() });
    assert_eq!(
        (err_of(&r), x.mem[BUF as usize], &x.mem[BUF as usize + 1..BUF as usize + 12]),
        (None, 0, &b"README  TXT"[..])
    );
    let r = x.fm(func::STOTRN, Regs { bc: 2 << 8, hl: BUF, de: 1, ..Regs::default() });
    assert_eq!(
        (err_of(&r), x.mem[BUF as usize + 512 + 32]),
        (None, 0xe5),
        "two sectors, the second one of empty slots"
    );
    assert_eq!(
        err_of(&x.fm(func::STOTRN, Regs { bc: 1 << 8 | 2, hl: BUF, de: 1, ..Regs::default() })),
        Some(err::SUBCOMMAND),
        "direction 2"
    );
    assert_eq!(
        err_of(&x.fm(func::STOTRN, Regs { af: 1 << 8, bc: 1 << 8, hl: BUF, de: 1, ..Regs::default() })),
        Some(err::NO_DEVICE)
    );
    assert_eq!(
        err_of(&x.fm(func::STOTRN, Regs { bc: 1 << 8, ix: 5000, hl: BUF, de: 1, ..Regs::default() })),
        Some(err::SEEK)
    );
    let r = x.fm(func::DIRINF, Regs { af: (b'A' as u16) << 8, bc: 1, ..Regs::default() });
    assert_eq!((err_of(&r), r.de), (None, 2 * (243 - 2 - 1)));
    assert_eq!(err_of(&x.fm(func::DIRINF, Regs { af: (b'C' as u16) << 8, ..Regs::default() })), Some(err::NO_DRIVE));
    sector_writes(&mut x);
    // Functions not served: error 29.
    for f in [0, 1, 16, 26, 32, 33, 34, 37, 40, 41, 13] {
        assert_eq!(err_of(&x.fm(f, Regs::default())), Some(err::UNSUPPORTED), "function {f}");
    }
}

/// STOTRN writes (C = 1): data sectors read back as written, a directory sector
/// written raw makes a file, a directory sector that does not decode is refused.
fn sector_writes(x: &mut T) {
    const BACK: u16 = 0xa000;
    let stotrn = |x: &mut T, dir: u16, n: u16, sector: u16, hl: u16| {
        err_of(&x.fm(func::STOTRN, Regs { bc: n << 8 | dir, ix: sector, hl, de: 1, ..Regs::default() }))
    };
    // Two data sectors: block 100 (sectors 200 and 201), written then read back.
    for i in 0..1024 {
        x.mem[BUF as usize + i] = (i * 7 + 3) as u8;
    }
    assert_eq!(stotrn(x, 1, 2, 200, BUF), None);
    assert_eq!(stotrn(x, 0, 2, 200, BACK), None);
    assert_eq!(x.mem[BACK as usize..BACK as usize + 1024], x.mem[BUF as usize..BUF as usize + 1024]);
    // Directory sector 0 with a new entry in slot 5: SECT.DAT, 8 records in block 100.
    assert_eq!(stotrn(x, 0, 1, 0, BUF), None);
    let mut entry = [0u8; 32];
    entry[1..12].copy_from_slice(b"SECT    DAT");
    (entry[15], entry[16]) = (8, 100);
    x.mem[BUF as usize + 5 * 32..BUF as usize + 6 * 32].copy_from_slice(&entry);
    assert_eq!(stotrn(x, 1, 1, 0, BUF), None);
    let file = x.disk.lock().get("SECT.DAT").unwrap();
    assert_eq!(file, x.mem[BACK as usize..BACK as usize + 1024]);
    assert_eq!(stotrn(x, 0, 1, 0, BACK), None);
    assert_eq!(x.mem[BACK as usize..BACK as usize + 512], x.mem[BUF as usize..BUF as usize + 512]);
    let r = x.fm(func::DIRINF, Regs { af: (b'A' as u16) << 8, bc: 1, ..Regs::default() });
    assert_eq!(r.de, 2 * (243 - 2 - 2), "block 100 is in use now");
    // A user byte of 30h (not 0..15 nor E5h) is refused and nothing changes.
    let before = x.disk.lock().names();
    x.mem[BUF as usize + 6 * 32] = 0x30;
    assert_eq!(stotrn(x, 1, 1, 0, BUF), Some(err::ORGANISATION));
    assert_eq!(stotrn(x, 0, 1, 0, BACK), None);
    assert_eq!(x.mem[BACK as usize + 6 * 32], 0xe5);
    assert_eq!(x.disk.lock().names(), before);
    // Past the end: refused before anything is written.
    assert_eq!(stotrn(x, 1, 3, 484, BUF), Some(err::SEEK));
    assert_eq!(stotrn(x, 0, 2, 484, BACK), None);
    assert!(x.mem[BACK as usize..BACK as usize + 1024].iter().all(|&b| b == 0xe5));
}
