//! The system-call decoder's statuses: each test program makes calls with bad
//! arguments and exits with the status the last one returned in A (`LD E,A; XOR A;
//! RST 30h`), so the process's exit shows what the decoder answered. And the one
//! mapping of engine errors to statuses (the `status()` of each error type).

mod common;
use common::{engine, run_until};
use zbeam_engine::abi::status;
use zbeam_engine::{fault, Exit, LinkError, NameError, SendError, SpawnError};
use zbeam_sched::{CoreId, CpuSet, Priority};

/// `LD E,A; XOR A; RST 30h`: exit with the status in A as the exit code.
const EXIT_WITH_STATUS: [u8; 3] = [0x5f, 0xaf, 0xf7];
/// Receives forever (a process that waits and never ends by itself).
const WAITER: &[u8] = &[0x3e, 0x03, 0x11, 0x00, 0x02, 0x01, 0x10, 0x00, 0x21, 0xff, 0xff, 0xf7, 0x18, 0xf2];

/// How a program made of `calls` then [`EXIT_WITH_STATUS`] ends (image 0; image 1 is
/// the waiter).
fn ends(calls: &[u8]) -> Exit {
    let program = [calls, &EXIT_WITH_STATUS].concat();
    let e = engine(&[&program, WAITER]);
    let pid = e.spawn_image(0, &[], Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    assert!(run_until(&e, 1000, || !e.is_live(pid)), "the program did not end");
    e.last_exit(pid).unwrap()
}

/// The exit of a program whose last call returned `status`.
fn answered(s: u8) -> Exit {
    if s == status::OK {
        Exit::Normal
    } else {
        Exit::Code(s.into())
    }
}

#[test]
fn a_good_call_answers_ok() {
    // SELF.
    assert_eq!(ends(&[0x3e, 0x01, 0xf7]), answered(status::OK));
}

#[test]
fn send_checks_length_buffer_then_pid() {
    // LD A,SEND; LD DE,0x1234; LD IY,0; LD HL,0x0100; LD BC,len; RST 30h.
    let send = |hl: [u8; 2], len: [u8; 2]| {
        [0x3e, 0x02, 0x11, 0x34, 0x12, 0xfd, 0x21, 0, 0, 0x21, hl[0], hl[1], 0x01, len[0], len[1], 0xf7]
    };
    assert_eq!(ends(&send([0x00, 0x01], [0x01, 0x00])), answered(status::BAD_PID));
    assert_eq!(ends(&send([0x00, 0x01], [0x01, 0x04])), answered(status::TOO_BIG));
    assert_eq!(ends(&send([0xff, 0xff], [0x02, 0x00])), answered(status::BAD_BUFFER));
    // SEND_TAG with a reserved tag (IX = 0xF0).
    let tagged = [0x3e, 0x0a, 0x11, 0x34, 0x12, 0xdd, 0x21, 0xf0, 0x00, 0x21, 0x00, 0x01, 0x01, 0x01, 0x00, 0xf7];
    assert_eq!(ends(&tagged), answered(status::BAD_ARG));
}

#[test]
fn spawn_answers_bad_image_too_big_and_no_resources() {
    // LD A,SPAWN; LD DE,image; LD HL,0x0080; LD BC,len; RST 30h.
    let spawn = |image: u8, len: u8| [0x3e, 0x04, 0x11, image, 0x00, 0x21, 0x80, 0x00, 0x01, len, 0x00, 0xf7];
    assert_eq!(ends(&spawn(9, 0)), answered(status::BAD_IMAGE));
    assert_eq!(ends(&spawn(1, 128)), answered(status::TOO_BIG));
    // A full table: the program is spawned first, then waiters fill every slot a Z80
    // process may take, then the program runs.
    let program = [&spawn(1, 0)[..], &EXIT_WITH_STATUS].concat();
    let e = engine(&[&program, WAITER]);
    let core = CoreId::new(0);
    let pid = e.spawn_image(0, &[], Priority::Normal, CpuSet::ALL, core).unwrap();
    while e.spawn_image(1, &[], Priority::Normal, CpuSet::ALL, core).is_ok() {}
    assert!(run_until(&e, 1000, || !e.is_live(pid)));
    assert_eq!(e.last_exit(pid), Some(answered(status::NO_RESOURCES)));
}

#[test]
fn relations_answer_bad_pid_and_not_found() {
    // LINK and MONITOR of pid 0 (DE = 0, IY = 0); DEMONITOR of a reference never made.
    let with_pid0 = |f: u8| [0x3e, f, 0x11, 0x00, 0x00, 0xfd, 0x21, 0x00, 0x00, 0xf7];
    assert_eq!(ends(&with_pid0(12)), answered(status::BAD_PID));
    assert_eq!(ends(&with_pid0(14)), answered(status::BAD_PID));
    assert_eq!(ends(&with_pid0(17)), answered(status::BAD_PID));
    assert_eq!(ends(&[0x3e, 0x0f, 0x11, 0x4d, 0x00, 0xf7]), answered(status::NOT_FOUND));
}

#[test]
fn names_answer_bad_arg_not_found_and_taken() {
    // LD A,f; LD HL,0x0100 (the program's own first bytes are the name); LD BC,len.
    let name = |f: u8, len: u8| [0x3e, f, 0x21, 0x00, 0x01, 0x01, len, 0x00, 0xf7];
    assert_eq!(ends(&name(19, 0)), answered(status::BAD_ARG));
    assert_eq!(ends(&name(19, 17)), answered(status::BAD_ARG));
    assert_eq!(ends(&name(21, 2)), answered(status::NOT_FOUND));
    assert_eq!(ends(&name(20, 2)), answered(status::NOT_FOUND));
    // A second name for the same process.
    assert_eq!(ends(&[name(19, 2), name(19, 3)].concat()), answered(status::NAME_TAKEN));
    // Registered, then found.
    assert_eq!(ends(&[name(19, 2), name(21, 2)].concat()), answered(status::OK));
}

#[test]
fn an_unknown_function_is_a_fault_not_a_status() {
    assert_eq!(ends(&[0x3e, 0x40, 0xf7]), Exit::Fault(fault::BAD_CALL));
}

#[test]
fn every_engine_error_has_its_documented_status() {
    use status::*;
    // (what the error maps to, what docs/ABI.md says it returns)
    let cases = [
        (SendError::NoSuchProcess.status(), BAD_PID),
        (SendError::TooBig.status(), TOO_BIG),
        (SendError::NoMemory.status(), NO_RESOURCES),
        (SpawnError::NoSuchImage.status(), BAD_IMAGE),
        (SpawnError::BadImage.status(), BAD_IMAGE),
        (SpawnError::ArgsTooLong.status(), TOO_BIG),
        (SpawnError::EmptyAffinity.status(), BAD_ARG),
        (SpawnError::TableFull.status(), NO_RESOURCES),
        (SpawnError::OutOfMemory.status(), NO_RESOURCES),
        (SpawnError::Limit.status(), NO_RESOURCES),
        (SpawnError::Frozen.status(), NO_RESOURCES),
        (LinkError::BadPid.status(), BAD_PID),
        (LinkError::Limit.status(), NO_RESOURCES),
        (NameError::BadName.status(), BAD_ARG),
        (NameError::BadPid.status(), BAD_PID),
        (NameError::Taken.status(), NAME_TAKEN),
        (NameError::NotFound.status(), NOT_FOUND),
        (NameError::Full.status(), NO_RESOURCES),
    ];
    for (i, (got, want)) in cases.into_iter().enumerate() {
        assert_eq!(got, want, "case {i}");
    }
}

#[test]
fn spawn_opt_takes_only_its_known_flags() {
    // LD A,SPAWN_OPT; LD DE,1 (the waiter); LD HL,0x010C (the block after the code);
    // RST 30h; then the exit with the status (3 bytes): the block starts at 0x010C.
    let with_flags = |flags: u8| {
        let code = [0x3e, 0x09, 0x11, 0x01, 0x00, 0x21, 0x0c, 0x01, 0xf7];
        // Arguments at 0x0080 (none), priority inherited, the flags, default memory
        // limit, the caller's affinity.
        let block = [0x80, 0x00, 0x00, 0xff, flags, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
        [&code[..], &EXIT_WITH_STATUS, &block].concat()
    };
    assert_eq!(ends(&with_flags(0)), answered(status::OK));
    assert_eq!(ends(&with_flags(3)), answered(status::OK));
    assert_eq!(ends(&with_flags(4)), answered(status::BAD_ARG));
    assert_eq!(ends(&with_flags(0x81)), answered(status::BAD_ARG));
}

#[test]
fn every_argument_buffer_answers_too_long_before_bad_buffer() {
    // Each call with a buffer the program hands in: a length over the call's limit
    // answers TOO_BIG (BAD_ARG for a name) even where the buffer also runs past
    // 0xFFFF; a length within the limit that runs past 0xFFFF answers BAD_BUFFER.
    // LD A,f; LD DE,0x1234; LD IY,0; LD IX,1 (a user tag); LD HL,at; LD BC,len; RST 30h.
    let call = |f: u8, at: u16, len: u16| {
        let (at, len) = (at.to_le_bytes(), len.to_le_bytes());
        let code = [0x3e, f, 0x11, 0x34, 0x12, 0xfd, 0x21, 0, 0, 0xdd, 0x21, 0x01, 0x00, 0x21, at[0], at[1]];
        [&code[..], &[0x01, len[0], len[1], 0xf7]].concat()
    };
    let (send, spawn, send_tag, register) = (0x02, 0x04, 0x0a, 19);
    for (f, limit, too_long) in
        [(send, 1024, status::TOO_BIG), (spawn, 127, status::TOO_BIG), (send_tag, 1024, status::TOO_BIG)]
    {
        assert_eq!(ends(&call(f, 0xfff0, limit + 1)), answered(too_long), "function {f}");
        assert_eq!(ends(&call(f, 0xfff0, 0x11)), answered(status::BAD_BUFFER), "function {f}");
    }
    assert_eq!(ends(&call(register, 0xfff0, 17)), answered(status::BAD_ARG));
    assert_eq!(ends(&call(register, 0xfff8, 16)), answered(status::BAD_BUFFER));
    // SPAWN_OPT: the options block itself past 0xFFFF, then its argument buffer.
    assert_eq!(ends(&call(0x09, 0xfffa, 0)), answered(status::BAD_BUFFER));
    let with_args = |at: u16, len: u8| {
        let at = at.to_le_bytes();
        // LD A,SPAWN_OPT; LD DE,1; LD HL,0x010C (the block after the code).
        let code = [0x3e, 0x09, 0x11, 0x01, 0x00, 0x21, 0x0c, 0x01, 0xf7];
        let block = [at[0], at[1], len, 0xff, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
        [&code[..], &EXIT_WITH_STATUS, &block].concat()
    };
    assert_eq!(ends(&with_args(0xff00, 128)), answered(status::TOO_BIG));
    assert_eq!(ends(&with_args(0xffc0, 127)), answered(status::BAD_BUFFER));
    assert_eq!(ends(&with_args(0x0080, 127)), answered(status::OK));
}

/// Keeps the payload of every message it receives.
struct Collector(std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

impl zbeam_engine::NativeTask for Collector {
    fn step(&mut self, cx: &mut zbeam_engine::NativeCx<'_>) -> zbeam_engine::NativeStep {
        while let Some(m) = cx.receive() {
            self.0.lock().unwrap().push(m.data.to_vec());
        }
        zbeam_engine::NativeStep::Wait { until: None }
    }
}

#[test]
fn send_carries_the_bytes_of_short_and_long_messages() {
    // Three sends of the program's own memory from 0x0100 (its code, then the
    // template's zeros) to a native collector: 64 bytes (the longest kept on the
    // stack), 65 and 1024 (read into the long buffer). Each block: LD A,SEND;
    // LD DE,pid; LD IY,pid >> 16; LD HL,0x0100; LD BC,len; RST 30h.
    let block = |len: u16| {
        let [lo, hi] = len.to_le_bytes();
        vec![0x3e, 0x02, 0x11, 0, 0, 0xfd, 0x21, 0, 0, 0x21, 0x00, 0x01, 0x01, lo, hi, 0xf7]
    };
    let lens = [64u16, 65, 1024];
    let program: Vec<u8> = lens.iter().flat_map(|&n| block(n)).chain(EXIT_WITH_STATUS).collect();
    let e = engine(&[&program]);
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let c0 = CoreId::new(0);
    let to = e.spawn_native(Box::new(Collector(got.clone())), Priority::Normal, CpuSet::ALL, c0).unwrap();
    let (low, high) = ((to.get() as u16).to_le_bytes(), ((to.get() >> 16) as u16).to_le_bytes());
    // The receiver's pid goes into each block's DE and IY operands.
    let mut memory = program.clone();
    memory.resize(0x400, 0);
    let mut patches = Vec::new();
    for b in 0..lens.len() {
        let at = b * 16;
        memory[at + 3..at + 5].copy_from_slice(&low);
        memory[at + 7..at + 9].copy_from_slice(&high);
        patches.push((0x0100 + at as u16 + 3, &low[..]));
        patches.push((0x0100 + at as u16 + 7, &high[..]));
    }
    let pid = e.spawn_image_patched(0, &[], &patches, Priority::Normal, CpuSet::ALL, c0).unwrap();
    assert!(run_until(&e, 1000, || !e.is_live(pid) && got.lock().unwrap().len() == lens.len()));
    assert_eq!(e.last_exit(pid), Some(answered(status::OK)));
    let got = got.lock().unwrap();
    for (m, &n) in got.iter().zip(&lens) {
        assert_eq!(m[..], memory[..n as usize], "a message of {n} bytes");
    }
}
