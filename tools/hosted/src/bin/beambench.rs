//! `beambench`: zbeam's scheduler on the hosted runtime (2 threads) against Erlang/OTP's
//! BEAM on the same workloads, printed as one table (`make bench`, via
//! `tools/bench-sched.sh`). No assertions: it measures and prints.
//!
//! Each row runs the workload `--runs` times on each side and shows the medians and
//! the ratio zbeam / BEAM (above 1: zbeam takes longer). zbeam's side uses the
//! workload controllers of `zbeam_images::workloads` (timed on the engine's µs clock); BEAM's
//! side is `tools/hosted/erlang/zbench.erl`, compiled with `erlc` into a temporary
//! directory and run with `erl -noshell +S N`. Workload sizes are the same on both
//! sides except where a row says otherwise.
//!
//! Usage: `beambench [--runs N] [--quick] [--no-erlang]`. `--quick` shrinks every
//! workload tenfold (a smoke run, not a measurement).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use zbeam_hosted::{engine, run, Console, Options};
use zbeam_images::workloads::{
    Consumer, PingPong, Producer, RingController, SpawnStorm, TimerStats, TimerStorm, Workers,
};
use zbeam_sched::{CoreId, CpuSet, Priority};

const C0: CoreId = CoreId::new(0);

/// Workload sizes.
#[derive(Clone, Copy)]
struct Sizes {
    hops: u32,
    spawns: u32,
    spawn_window: u32,
    pp_rounds: u32,
    pp_warmup: u32,
    /// zbeam worker rounds (about 262 000 Z80 instructions each).
    worker_rounds: u16,
    /// BEAM worker count-down iterations (one reduction each).
    worker_iters: u64,
    timer_procs: u32,
    timer_rounds: u16,
    /// Messages each sender of the send storm sends.
    storm_messages: u32,
}

const FULL: Sizes = Sizes {
    hops: 1_000_000,
    spawns: 50_000,
    spawn_window: 1000,
    pp_rounds: 50_000,
    pp_warmup: 1000,
    worker_rounds: 100,
    worker_iters: 100_000_000,
    timer_procs: 10_000,
    timer_rounds: 10,
    storm_messages: 1_000_000,
};

fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn opts() -> Options {
    Options { timeout: Some(Duration::from_secs(120)), ..Options::default() }
}

/// ns per hop of a ring of `n` nodes.
fn zb_ring(n: u16, hops: u32) -> f64 {
    let e = engine(2, n as usize + 16, Console::Discard);
    let (ctl, out) = RingController::new(n, hops, CpuSet::ALL);
    e.spawn_native(ctl, Priority::Normal, CpuSet::single(C0), C0).expect("spawn the ring controller");
    let r = run(&e, &opts(), || out.lock().is_some());
    let res = out.lock().take();
    match res {
        Some(res) if r.completed && res.errors == 0 && res.reached == hops => res.elapsed_ms as f64 * 1e6 / hops as f64,
        other => {
            eprintln!("beambench: ring {n} failed: {other:?}");
            f64::NAN
        }
    }
}

/// µs per spawned process (spawn, run, one message back, exit) on `cores` threads.
fn zb_spawn(cores: usize, s: &Sizes) -> f64 {
    let e = engine(cores, s.spawn_window as usize + 16, Console::Discard);
    let (ctl, out) = SpawnStorm::new(s.spawns, s.spawn_window);
    e.spawn_native(ctl, Priority::Normal, CpuSet::single(C0), C0).expect("spawn the controller");
    let r = run(&e, &opts(), || out.is_filled());
    match out.take() {
        Some(res) if r.completed && res.acked == s.spawns => res.elapsed.as_secs_f64() * 1e6 / s.spawns as f64,
        other => {
            eprintln!("beambench: spawn on {cores} failed: {other:?}");
            f64::NAN
        }
    }
}

/// µs per round trip between a controller on core 0 and a Z80 `pong` on `pong_core`.
fn zb_pingpong(pong_core: usize, s: &Sizes) -> f64 {
    let e = engine(2, 16, Console::Discard);
    let (ctl, out) = PingPong::new(s.pp_rounds, s.pp_warmup, CpuSet::single(CoreId::new(pong_core)));
    e.spawn_native(ctl, Priority::Normal, CpuSet::single(C0), C0).expect("spawn the controller");
    let r = run(&e, &opts(), || out.is_filled());
    match out.take() {
        Some(res) if r.completed && res.errors == 0 && !res.spawn_failed => {
            res.elapsed.as_secs_f64() * 1e6 / res.rounds as f64
        }
        other => {
            eprintln!("beambench: ping-pong to core {pong_core} failed: {other:?}");
            f64::NAN
        }
    }
}

/// ms until `n` workers started on core 0 have all finished.
fn zb_workers(n: u32, s: &Sizes) -> f64 {
    let e = engine(2, 64, Console::Discard);
    let (ctl, out) = Workers::new(n, s.worker_rounds, CpuSet::ALL);
    e.spawn_native(ctl, Priority::Normal, CpuSet::single(C0), C0).expect("spawn the controller");
    let r = run(&e, &opts(), || out.is_filled());
    match out.take() {
        Some(res) if r.completed && res.finished == n => res.elapsed.as_secs_f64() * 1e3,
        other => {
            eprintln!("beambench: {n} workers failed: {other:?}");
            f64::NAN
        }
    }
}

/// CPU time used by the whole process (every thread) so far, in ns.
fn process_cpu_ns() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid, writable timespec; the clock id is a constant Linux knows.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) } == 0;
    if ok {
        t.tv_sec as f64 * 1e9 + t.tv_nsec as f64
    } else {
        f64::NAN
    }
}

/// A send storm of `senders` native senders, each on its own core (sender i on core i)
/// with its own receiver there, so a pair shares a core and the pairs share nothing
/// but the engine: every sender sends `storm_messages` messages of `bytes` bytes (8:
/// inside the queue node; longer: in a buffer of the sender's byte pool). Returns
/// millions of messages a second (wall clock) and the process's CPU time per message
/// in ns. With nothing shared on the send path, two senders move twice what one does
/// (given two free CPUs), and each message costs the same CPU time with one sender or
/// two whatever the load (lines bouncing between cores would make it dearer).
fn zb_storm(senders: usize, bytes: usize, s: &Sizes) -> (f64, f64) {
    let e = engine(2, 16, Console::Discard);
    let t0 = std::time::Instant::now();
    let cpu0 = process_cpu_ns();
    let mut outs = Vec::new();
    for i in 0..senders {
        let core = CoreId::new(i);
        let (rx, out) = Consumer::new(1, s.storm_messages, 256);
        let rx = e.spawn_native(rx, Priority::Normal, CpuSet::single(core), core).expect("spawn a receiver");
        let (tx, _) = Producer::sized(rx, 0, s.storm_messages, 64, bytes);
        e.spawn_native(tx, Priority::Normal, CpuSet::single(core), core).expect("spawn a sender");
        outs.push(out);
    }
    let r = run(&e, &opts(), || outs.iter().all(|o| o.is_filled()));
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = process_cpu_ns() - cpu0;
    let ok = outs.iter().map(|o| o.take()).all(|o| o.is_some_and(|o| o.out_of_order == 0));
    if !(r.completed && ok) {
        eprintln!("beambench: send storm with {senders} senders failed");
        return (f64::NAN, f64::NAN);
    }
    let messages = senders as f64 * s.storm_messages as f64;
    (messages / elapsed / 1e6, cpu / messages)
}

fn zb_timers(s: &Sizes) -> Option<TimerStats> {
    let e = engine(2, s.timer_procs as usize + 16, Console::Discard);
    let (ctl, out) = TimerStorm::new(s.timer_procs, s.timer_rounds);
    e.spawn_native(ctl, Priority::Normal, CpuSet::single(C0), C0).expect("spawn the controller");
    let r = run(&e, &opts(), || out.is_filled());
    let res = out.take().filter(|t| r.completed && t.spawn_failures == 0);
    match &res {
        None => eprintln!("beambench: timers failed"),
        Some(t) => eprintln!(
            "beambench: timers: early {}, lateness histogram (ms 0..=31+) {:?}, {:?}; per-core {:?}",
            t.early,
            t.hist,
            t.elapsed,
            r.cores.iter().map(|c| (c.stats.reductions, c.idles, c.deadlines)).collect::<Vec<_>>()
        ),
    }
    res
}

/// Compiles zbench.erl and runs `specs` `runs` times each with `+S sched`.
fn beam(dir: &Path, sched: u32, runs: usize, specs: &[String]) -> HashMap<String, Vec<f64>> {
    let mut cmd = Command::new("erl");
    cmd.arg("-noshell").arg("+S").arg(sched.to_string()).arg("-pa").arg(dir);
    cmd.args(["-run", "zbench", "main"]).arg(runs.to_string()).args(specs);
    let mut out = HashMap::new();
    match cmd.output() {
        Ok(o) if o.status.success() => {
            for line in String::from_utf8_lossy(&o.stdout).lines() {
                let mut it = line.split_whitespace();
                if let Some(spec) = it.next() {
                    out.insert(spec.to_string(), it.filter_map(|v| v.parse().ok()).collect());
                }
            }
        }
        Ok(o) => eprintln!(
            "beambench: erl +S {sched} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => eprintln!("beambench: cannot run erl: {e}"),
    }
    out
}

fn compile_erlang() -> Option<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("erlang/zbench.erl");
    let dir = std::env::temp_dir().join(format!("zbeam-beambench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    match Command::new("erlc").arg("-o").arg(&dir).arg(&src).output() {
        Ok(o) if o.status.success() => Some(dir),
        Ok(o) => {
            eprintln!("beambench: erlc failed: {}", String::from_utf8_lossy(&o.stderr));
            None
        }
        Err(e) => {
            eprintln!("beambench: erlc not found ({e}); the BEAM column stays empty (tools/bench-sched.sh installs erlang-nox)");
            None
        }
    }
}

fn otp_release() -> String {
    Command::new("erl")
        .args(["-noshell", "-eval", "io:format(\"~s\", [erlang:system_info(otp_release)]), halt()."])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|| "none".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

struct Row {
    name: String,
    unit: &'static str,
    zbeam: f64,
    beam: f64,
}

/// The send storm's rows: 1 sender's rate, the 2/1 ratio, and CPU per message 2 vs 1.
fn storm_rows(label: &str, rate: [&[f64]; 2], cpu: [&[f64]; 2]) -> [Row; 3] {
    let row = |name: String, unit, zbeam| Row { name, unit, zbeam, beam: f64::NAN };
    [
        row(format!("{label}, 1 sender"), "M msg/s", median(rate[0])),
        row(format!("{label}, 2 senders / 1"), "x (goal 1.8)", median(rate[1]) / median(rate[0])),
        row(format!("{label}, CPU/msg 2 vs 1"), "x (1.0: none shared)", median(cpu[1]) / median(cpu[0])),
    ]
}

fn fmt(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn main() {
    let mut runs = 5usize;
    let mut sizes = FULL;
    let mut erlang = true;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(5),
            "--quick" => {
                sizes = Sizes {
                    hops: FULL.hops / 10,
                    spawns: FULL.spawns / 10,
                    pp_rounds: FULL.pp_rounds / 10,
                    worker_rounds: FULL.worker_rounds / 10,
                    worker_iters: FULL.worker_iters / 10,
                    timer_procs: FULL.timer_procs / 10,
                    storm_messages: FULL.storm_messages / 10,
                    ..FULL
                };
                runs = 1;
            }
            "--no-erlang" => erlang = false,
            "--only" => only = args.next(),
            _ => {
                eprintln!(
                    "usage: beambench [--runs N] [--quick] [--no-erlang] [--only ring|spawn|pingpong|skew|timers|storm]"
                );
                std::process::exit(2);
            }
        }
    }
    let s = sizes;
    let load_before = loadavg();

    let (ring_1k, ring_10k) = (format!("ring:1000:{}", s.hops), format!("ring:10000:{}", s.hops));
    let spawn = format!("spawn:{}:{}", s.spawns, s.spawn_window);
    let (pp_same, pp_cross) =
        (format!("pingpong:{}:{}:1", s.pp_rounds, s.pp_warmup), format!("pingpong:{}:{}:2", s.pp_rounds, s.pp_warmup));
    let (worker1, skew) = (format!("worker:{}", s.worker_iters), format!("skew:16:{}", s.worker_iters));
    let timers = |q: u32| format!("timers:{}:{}:{q}", s.timer_procs, s.timer_rounds);

    let (mut b2, mut b1) = (HashMap::new(), HashMap::new());
    if let Some(dir) = (erlang && only.is_none()).then(compile_erlang).flatten() {
        eprintln!("beambench: BEAM runs ({runs} each)...");
        let specs2 = [&ring_1k, &ring_10k, &spawn, &pp_same, &pp_cross, &timers(990), &timers(0)];
        b2 = beam(&dir, 2, runs, &specs2.map(|x| x.to_string()));
        // The skew row's single-worker calibration and its 16-worker run alternate, so
        // both see the same background load.
        for _ in 0..runs {
            for (k, v) in beam(&dir, 2, 1, &[worker1.clone(), skew.clone()]) {
                b2.entry(k).or_insert_with(Vec::new).extend(v);
            }
        }
        b1 = beam(&dir, 1, runs, std::slice::from_ref(&spawn));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let bm = |m: &HashMap<String, Vec<f64>>, k: &str| m.get(k).map_or(f64::NAN, |v| median(v));

    eprintln!("beambench: zbeam runs ({runs} each)...");
    let want = |row: &str| only.as_deref().is_none_or(|o| o == row);
    let rep = |row: &str, f: &mut dyn FnMut() -> f64| {
        if want(row) {
            median(&(0..runs).map(|_| f()).collect::<Vec<_>>())
        } else {
            f64::NAN
        }
    };
    let z_ring_1k = rep("ring", &mut || zb_ring(1000, s.hops));
    let z_ring_10k = rep("ring", &mut || zb_ring(10_000, s.hops));
    let z_spawn1 = rep("spawn", &mut || zb_spawn(1, &s));
    let z_spawn2 = rep("spawn", &mut || zb_spawn(2, &s));
    let z_pp_same = rep("pingpong", &mut || zb_pingpong(0, &s));
    let z_pp_cross = rep("pingpong", &mut || zb_pingpong(1, &s));
    let (mut z_one, mut z_sixteen) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        if want("skew") {
            z_one.push(zb_workers(1, &s));
            z_sixteen.push(zb_workers(16, &s));
        }
    }
    let z_skew = median(&z_sixteen) / (16.0 * median(&z_one) / 2.0);
    // The send storm's 1- and 2-sender runs alternate, so both see the same load; so do
    // its two message sizes (8 bytes: inside the node; 100: in a pooled buffer).
    let (mut storm1, mut storm2, mut cpu1, mut cpu2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut long1, mut long2, mut lcpu1, mut lcpu2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        if want("storm") {
            for (n, bytes, rate, cpu) in [
                (1, 8, &mut storm1, &mut cpu1),
                (2, 8, &mut storm2, &mut cpu2),
                (1, 100, &mut long1, &mut lcpu1),
                (2, 100, &mut long2, &mut lcpu2),
            ] {
                let (r, c) = zb_storm(n, bytes, &s);
                rate.push(r);
                cpu.push(c);
            }
        }
    }
    eprintln!("beambench: send storm, M messages/s: 1 sender {storm1:?}, 2 senders {storm2:?}");
    eprintln!("beambench: send storm, CPU ns per message: 1 sender {cpu1:?}, 2 senders {cpu2:?}");
    eprintln!("beambench: send storm of 100-byte messages, M messages/s: 1 sender {long1:?}, 2 senders {long2:?}");
    eprintln!(
        "beambench: send storm of 100-byte messages, CPU ns per message: 1 sender {lcpu1:?}, 2 senders {lcpu2:?}"
    );
    let z_timers: Vec<TimerStats> = (0..runs).filter(|_| want("timers")).filter_map(|_| zb_timers(&s)).collect();
    let z_p99 = median(&z_timers.iter().map(|t| t.quantile_ms(0.99) as f64).collect::<Vec<_>>());
    let z_early: u64 = z_timers.iter().map(|t| t.early).sum();
    let b_skew = bm(&b2, &skew) / (16.0 * bm(&b2, &worker1) / 2.0);
    let b_p99 = bm(&b2, &timers(990));
    // BEAM's timer workload returns -1 for a run with an early wait: its minimum
    // lateness (quantile 0) is then negative.
    let b_early_runs = b2.get(&timers(0)).map_or(f64::NAN, |v| v.iter().filter(|&&x| x < 0.0).count() as f64);

    let mut rows = vec![
        Row { name: "ring hop, 1k processes".into(), unit: "ns/hop", zbeam: z_ring_1k, beam: bm(&b2, &ring_1k) },
        Row { name: "ring hop, 10k processes".into(), unit: "ns/hop", zbeam: z_ring_10k, beam: bm(&b2, &ring_10k) },
        Row { name: "spawn, 1 scheduler".into(), unit: "µs/process", zbeam: z_spawn1, beam: bm(&b1, &spawn) },
        Row { name: "spawn, 2 schedulers".into(), unit: "µs/process", zbeam: z_spawn2, beam: bm(&b2, &spawn) },
        Row { name: "ping-pong, same core".into(), unit: "µs/round trip", zbeam: z_pp_same, beam: bm(&b2, &pp_same) },
        Row {
            name: "ping-pong, cross core".into(),
            unit: "µs/round trip",
            zbeam: z_pp_cross,
            beam: bm(&b2, &pp_cross),
        },
        Row { name: "16 CPU-bound from one core".into(), unit: "total/ideal", zbeam: z_skew, beam: b_skew },
        Row { name: "1e5 timers, p99 lateness".into(), unit: "ms", zbeam: z_p99, beam: b_p99 },
        Row {
            name: "1e5 timers, runs with an early wait".into(),
            unit: "runs",
            zbeam: z_timers.iter().filter(|t| t.early > 0).count() as f64,
            beam: b_early_runs,
        },
    ];
    rows.extend(storm_rows("send storm", [&storm1, &storm2], [&cpu1, &cpu2]));
    rows.extend(storm_rows("send storm 100 B", [&long1, &long2], [&lcpu1, &lcpu2]));

    let command = std::env::var("ZBEAM_BENCH_COMMAND").unwrap_or_else(|_| {
        let a: Vec<String> = std::env::args().skip(1).collect();
        format!("beambench {}", a.join(" "))
    });
    println!("Scheduler vs BEAM (hosted, 2 threads): medians of {runs} runs");
    println!("command: {command}");
    println!(
        "zbeam: hosted runtime, 2 core threads, Topology::uniform(2); BEAM: OTP {} erl -noshell +S 2 (+S 1 for the 1-scheduler row)",
        otp_release()
    );
    println!("machine: {} CPUs; load average before {load_before}, after {}", cpus(), loadavg());
    println!();
    println!("| {:<36} | {:<13} | {:>10} | {:>10} | {:>11} |", "row", "unit", "zbeam", "BEAM", "zbeam/BEAM");
    println!("|{:-<38}|{:-<15}|{:-<12}|{:-<12}|{:-<13}|", "", "", "", "", "");
    for r in &rows {
        let ratio = if r.beam != 0.0 { r.zbeam / r.beam } else { f64::NAN };
        println!(
            "| {:<36} | {:<13} | {:>10} | {:>10} | {:>11} |",
            r.name,
            r.unit,
            fmt(r.zbeam),
            fmt(r.beam),
            if ratio.is_finite() { format!("{ratio:.2}x") } else { "-".into() }
        );
    }
    println!();
    println!(
        "sizes: ring {} hops; spawn {} processes, {} outstanding at most; ping-pong {} timed round trips; \
         skew: 16 workers vs 1 alone (zbeam {} rounds of 262k Z80 instructions, BEAM {} count-down steps); \
         timers: {} processes x {} waits of 1..100 ms.",
        s.hops, s.spawns, s.spawn_window, s.pp_rounds, s.worker_rounds, s.worker_iters, s.timer_procs, s.timer_rounds
    );
    println!(
        "zbeam timer waits early: {z_early} in {} waits; lateness is measured in whole ms by the program itself \
         (Z80 TIME, BEAM monotonic_time(millisecond)).",
        z_timers.iter().map(TimerStats::waits).sum::<u64>()
    );
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}
