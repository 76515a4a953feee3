//! Memory accounting and limits through the whole engine, driven deterministically:
//! bytes charged equal bytes held and return to zero after exit; a process past its
//! limit ends with reason MEMORY, seen by links and monitors; floods end the flooded
//! process and nothing else; the budget refuses spawns cleanly.

use std::sync::{Arc, Mutex};
use zbeam_engine::memory::message_bytes;
use zbeam_engine::memory::PAGE_SIZE;
use zbeam_engine::{abi, Engine, Exit, NativeCx, NativeStep, NativeTask, Pid, SpawnError, SpawnOpts};
use zbeam_images::{FLOOD, IMAGES, SINK, SPIN};
use zbeam_sched::{CoreId, CpuSet, Priority, Topology};

mod common;
use common::{drive, Sim};

fn engine(cores: usize) -> Engine<Sim> {
    Engine::new(Topology::uniform(cores), 256, IMAGES, Sim::default())
}

fn spawn(e: &Engine<Sim>, image: usize) -> Pid {
    e.spawn_image(image, &[], Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap()
}

#[test]
fn bytes_charged_equal_bytes_held_and_return_to_zero_after_exit() {
    let e = engine(2);
    assert_eq!(e.memory_stats().charged, 0);
    let pid = spawn(&e, SINK);
    let body = e.memory_of(pid);
    assert!(body > 0 && body < PAGE_SIZE, "a fresh process owns no page: {body} bytes");
    for n in [0, 1, 100, abi::MAX_MESSAGE] {
        e.send(Pid::KERNEL, pid, &vec![7u8; n]).unwrap();
    }
    let queued: usize = [0, 1, 100, abi::MAX_MESSAGE].iter().map(|&n| message_bytes(n)).sum();
    assert_eq!(e.memory_of(pid), body + queued);
    assert_eq!(e.memory_stats().charged, body + queued);
    // It runs (registers, sleeps, never receives): what it wrote are whole pages.
    drive(&e, 2, 50, || false);
    let pages = e.memory_of(pid) - body - queued;
    assert!(pages >= PAGE_SIZE && pages.is_multiple_of(PAGE_SIZE), "{pages}");
    assert_eq!(e.proc_info(pid).unwrap().memory, e.memory_of(pid));
    assert!(e.kill(pid));
    drive(&e, 2, 100, || e.live() == 0);
    assert_eq!((e.memory_of(pid), e.memory_stats().charged), (0, 0));
    // The pages went back to the pools, ready for the next process.
    let m = e.memory_stats();
    let free = m.pools.iter().map(|p| p.free).sum::<usize>() + m.depot.free;
    assert_eq!(free, m.pools.iter().map(|p| p.made).sum::<usize>());
}

/// What the watcher saw: its child's pid, then each (tag, reason) message.
type Seen = Arc<Mutex<(Pid, Vec<(u8, u16)>)>>;

/// Spawns SINK linked and monitored with `limit`, traps exits, and records the EXIT
/// and DOWN messages it gets.
struct Watcher {
    limit: usize,
    started: bool,
    seen: Seen,
}

impl NativeTask for Watcher {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        if !self.started {
            self.started = true;
            cx.trap_exit(true);
            let opts = SpawnOpts {
                link: true,
                monitor: true,
                memory_limit: self.limit,
                ..SpawnOpts::new(Priority::Normal, CpuSet::ALL)
            };
            let (pid, _mref) = cx.spawn_opts(SINK, &[], opts).unwrap();
            self.seen.lock().unwrap().0 = pid;
        }
        while let Some(m) = cx.receive() {
            let reason = u16::from_le_bytes([m.data[m.data.len() - 2], m.data[m.data.len() - 1]]);
            self.seen.lock().unwrap().1.push((m.tag, reason));
        }
        NativeStep::Wait { until: None }
    }
}

#[test]
fn exceeding_the_limit_ends_the_process_with_its_reason_seen_by_links_and_monitors() {
    let e = engine(2);
    let seen: Seen = Arc::default();
    let w = Watcher { limit: 16 * 1024, started: false, seen: seen.clone() };
    e.spawn_native(Box::new(w), Priority::Normal, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, 2, 20, || seen.lock().unwrap().0 != Pid::KERNEL);
    let child = seen.lock().unwrap().0;
    // Flood it from the kernel: every send succeeds, until it is gone.
    let mut sent = 0;
    while e.is_live(child) && sent < 100 {
        assert_eq!(e.send(Pid::KERNEL, child, &[0u8; 1024]), Ok(()));
        sent += 1;
        drive(&e, 2, 1, || false);
    }
    drive(&e, 2, 100, || seen.lock().unwrap().1.len() == 2);
    assert!((8..=16).contains(&sent), "16 KiB hold at most 15 queued KiB: {sent} sends");
    assert_eq!(e.last_exit(child), Some(Exit::Memory));
    let mut got = seen.lock().unwrap().1.clone();
    got.sort();
    assert_eq!(got, vec![(abi::tag::DOWN, abi::reason::MEMORY), (abi::tag::EXIT, abi::reason::MEMORY)]);
    assert_eq!(e.memory_of(child), 0);
}

#[test]
fn a_process_flooding_itself_ends_by_its_limit_and_nothing_else_does() {
    let e = engine(2);
    let bystander = spawn(&e, SPIN);
    let pid = spawn(&e, FLOOD);
    drive(&e, 2, 10_000, || !e.is_live(pid));
    assert_eq!(e.last_exit(pid), Some(Exit::Memory));
    assert!(e.is_live(bystander));
    assert!(e.kill(bystander));
    drive(&e, 2, 100, || e.live() == 0);
    assert_eq!(e.memory_stats().charged, 0);
}

#[test]
fn a_flood_of_a_process_that_never_receives_ends_the_flooded_process() {
    let e = engine(2);
    let sink = spawn(&e, SINK);
    drive(&e, 2, 20, || e.whereis(b"sink").is_some());
    let flood = spawn(&e, FLOOD);
    drive(&e, 2, 10_000, || e.live() == 0);
    assert_eq!(e.last_exit(sink), Some(Exit::Memory));
    // The flooder's next send found no process: it exits with BAD_PID as its code.
    assert_eq!(e.last_exit(flood), Some(Exit::Code(abi::status::BAD_PID as u32)));
    assert_eq!(e.memory_stats().charged, 0);
}

#[test]
fn the_budget_refuses_spawns_and_page_copies_cleanly() {
    let e = engine(1);
    let first = spawn(&e, SPIN);
    let held = e.memory_stats().charged;
    // No room for another body: spawn answers OutOfMemory (NO_RESOURCES in the ABI),
    // and nothing is charged for the attempt.
    e.set_memory_budget(held + 16);
    assert_eq!(e.spawn_image(SPIN, &[], Priority::Normal, CpuSet::ALL, CoreId::new(0)), Err(SpawnError::OutOfMemory));
    assert_eq!(e.memory_stats().charged, held);
    // The running spinner's first write needs a page it cannot have: it ends with
    // reason MEMORY instead of anything panicking.
    drive(&e, 1, 100, || e.live() == 0);
    assert_eq!(e.last_exit(first), Some(Exit::Memory));
    assert_eq!(e.memory_stats().charged, 0);
    // With room again, spawning works.
    e.set_memory_budget(usize::MAX);
    let again = spawn(&e, SPIN);
    assert!(e.is_live(again));
}

#[test]
fn a_process_that_keeps_computing_moves_to_flat_memory_and_pays_for_it() {
    let e = engine(1);
    let pid = spawn(&e, SPIN);
    let body = e.memory_of(pid);
    // A few slices: its variables' page is copied, it is still paged.
    drive(&e, 1, 3, || false);
    let paged = e.memory_of(pid);
    assert!(paged > body && paged - body < 4 * PAGE_SIZE, "{paged}");
    // After 16 time slices in a row spent computing it runs on a flat 64 KiB, charged
    // in place of its pages.
    drive(&e, 1, 100_000, || e.proc_stats(pid).is_some_and(|s| s.slices > 18));
    assert_eq!(e.memory_of(pid), body + 0x1_0000);
    assert_eq!(e.memory_stats().charged, body + 0x1_0000);
    // Under a limit too small for the copy it stays paged and keeps running.
    let small = e
        .spawn_image_opts(
            SPIN,
            &[],
            SpawnOpts { memory_limit: 16 * 1024, ..SpawnOpts::new(Priority::Normal, CpuSet::ALL) },
            Pid::KERNEL,
            CoreId::new(0),
        )
        .unwrap()
        .0;
    drive(&e, 1, 200_000, || e.proc_stats(small).is_some_and(|s| s.slices > 18));
    assert!(e.is_live(small));
    assert!(e.memory_of(small) < 16 * 1024);
    assert!(e.kill(pid) && e.kill(small));
    drive(&e, 1, 100, || e.live() == 0);
    assert_eq!(e.memory_stats().charged, 0);
}

/// Registers as "sink" and never receives.
struct NativeSink;

impl NativeTask for NativeSink {
    fn step(&mut self, cx: &mut NativeCx<'_>) -> NativeStep {
        let _ = cx.register(b"sink");
        NativeStep::Wait { until: None }
    }
}

#[test]
fn a_flood_of_a_native_task_is_refused_to_the_sender_and_the_task_lives() {
    let e = engine(2);
    let sink = e.spawn_native(Box::new(NativeSink), Priority::High, CpuSet::ALL, CoreId::new(0)).unwrap();
    drive(&e, 2, 20, || e.whereis(b"sink").is_some());
    let flood = spawn(&e, FLOOD);
    drive(&e, 2, 100_000, || !e.is_live(flood));
    // Its queue reached the native limit; then the flooder's SEND answered
    // NO_RESOURCES, which it exits with.
    assert_eq!(e.last_exit(flood), Some(Exit::Code(abi::status::NO_RESOURCES as u32)));
    assert!(e.is_live(sink));
    let held = e.memory_of(sink);
    assert!(held <= zbeam_engine::memory::NATIVE_LIMIT && held > zbeam_engine::memory::NATIVE_LIMIT - 2048, "{held}");
    // The kernel can still send it system messages and kill it; everything returns.
    assert!(e.kill(sink));
    drive(&e, 2, 100, || e.live() == 0);
    assert_eq!(e.memory_stats().charged, 0);
}

#[test]
fn long_payloads_are_recycled_through_the_byte_pools() {
    // The kernel sends 2,000 messages of 100 bytes to `pong`, one at a time; pong
    // receives each (its echo to the kernel is refused). Every payload needs a 128-byte
    // buffer; the receiving core gives it back, so the pools make a bounded number of
    // buffers however long the flow is, and every charge comes back.
    let e = engine(2);
    let pid = spawn(&e, zbeam_images::PONG);
    let data = [0x5a_u8; 100];
    for i in 0..2000 {
        e.send(Pid::KERNEL, pid, &data).unwrap();
        drive(&e, 2, 100, || e.proc_info(pid).is_some_and(|p| p.queue == 0));
        assert_eq!(e.proc_info(pid).unwrap().queue, 0, "message {i} was received");
    }
    let m = e.memory_stats();
    let class = zbeam_mailbox::CLASSES.iter().position(|&c| c == 128).unwrap();
    let made: usize = m.payloads.iter().map(|p| p[class].made).sum();
    let cached: usize = m.payloads.iter().map(|p| p[class].cached).sum();
    assert!(made <= 200, "{made} buffers made for 2,000 messages sent one at a time");
    assert!(cached <= made && cached > 0, "{cached} of {made} kept for reuse");
    let others: usize = m.payloads.iter().flatten().map(|s| s.made).sum::<usize>() - made;
    assert_eq!(others, 0, "only the 128-byte class was used");
    // Kept memory counts the cached buffers.
    let kept_bytes: usize = m.payloads.iter().flatten().map(|s| s.cached * s.node_bytes).sum();
    assert!(m.kept() >= kept_bytes);
    assert!(e.kill(pid));
    drive(&e, 2, 100, || e.live() == 0);
    assert_eq!(e.memory_stats().charged, 0);
}

#[test]
fn trimming_gives_the_depots_surplus_back_to_the_heap_and_spawns_go_on() {
    // 5,000 `sink` processes each copy a page; killed, their pages
    // pass the pools' bounds into the depot. Trimming gives the depot's surplus back
    // (a batch per call) down to what it keeps; the counts stay consistent and later
    // spawns make pages again.
    let e: Engine<Sim> = Engine::new(Topology::uniform(2), 8192, IMAGES, Sim::default());
    let pids: Vec<Pid> = (0..5000).map(|_| spawn(&e, SINK)).collect();
    drive(&e, 2, 50_000, || pids.iter().all(|&p| e.memory_of(p) > PAGE_SIZE));
    let made: usize = e.memory_stats().pools.iter().map(|p| p.made).sum();
    assert!(made >= 5000, "{made} pages made");
    for &p in &pids {
        e.kill(p);
    }
    drive(&e, 2, 50_000, || e.live() == 0);
    let before = e.memory_stats();
    assert!(before.depot.free > zbeam_engine::memory::DEPOT_PAGES, "{} pages in the depot", before.depot.free);
    let mut calls = 0;
    while e.trim_memory(256) > 0 {
        calls += 1;
        assert!(calls < 1000, "trimming ends");
    }
    let after = e.memory_stats();
    assert_eq!(after.depot.free, zbeam_engine::memory::DEPOT_PAGES);
    assert!(after.depot.bodies <= zbeam_engine::memory::DEPOT_BODIES);
    assert_eq!(after.depot.returned, before.depot.free - zbeam_engine::memory::DEPOT_PAGES);
    assert_eq!(
        before.pooled() - after.pooled(),
        after.depot.returned * PAGE_SIZE
            + (before.depot.bodies - after.depot.bodies) * before.depot.body_bytes
            + (before.depot.list_bytes - after.depot.list_bytes),
        "pooled bytes fall by what was given back"
    );
    // Every page that still exists is free in a pool or the depot.
    let free = after.pools.iter().map(|p| p.free).sum::<usize>() + after.depot.free;
    assert_eq!(free, after.pools.iter().map(|p| p.made).sum::<usize>() - after.depot.returned);
    assert_eq!(e.trim_memory(256), 0, "nothing beyond what the depot keeps");
    // Spawns go on, reusing what is kept and making pages again.
    let pids: Vec<Pid> = (0..5000).map(|_| spawn(&e, SINK)).collect();
    drive(&e, 2, 50_000, || pids.iter().all(|&p| e.memory_of(p) > PAGE_SIZE));
    for &p in &pids {
        e.kill(p);
    }
    drive(&e, 2, 50_000, || e.live() == 0);
    assert_eq!(e.memory_stats().charged, 0);
}
