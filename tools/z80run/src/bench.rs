//! `dispatch-bench`: the dispatcher's figures for BENCHMARKS.md (run by
//! `tools/bench-dispatch.sh`, part of `make bench`). Prints Markdown tables.
//!
//! 1. Hosted, 2 threads (Linux threads on this machine): per program of the suite,
//!    the sequential time (the z80 crate's CP/M harness, as `z80run` runs it), the
//!    dispatcher's time on 2 instances with a fresh policy and with a learnt one, the
//!    speedups, the squash rate, the overhead on 1 instance, and whether every run
//!    was bit-exact. Medians of `--runs` interleaved rounds, with the spread of the
//!    sequential times (a row above 10% is marked noise) and the host's load average.
//! 2. Learning curve: `--curve` runs of each program on 2 threads sharing a persisted
//!    policy (its text form, written and read back between runs): the speedup per
//!    run, as a table and as an SVG (`--svg FILE`).
//! 3. The cost model: each program on 2, 4, 8, 16 and 64 model instances
//!    (`CostModel`, its costs printed with the table), five runs sharing a policy,
//!    the last run's predicted speedup; geometric means per class; and the learning
//!    curve on 4 model instances (deterministic), drawn to `FILE-model.svg`.
//!
//! Usage: `dispatch-bench [--runs R] [--scale K] [--curve N] [--svg FILE] [--dispatch T] [--validate T]`.
#![forbid(unsafe_code)]

mod threads;

use std::time::Instant;
use zbeam_dispatch::suite::{self, Program};
use zbeam_dispatch::{run, Config, CostModel, Policy, Pool, Report};
use zbeam_z80::cpm::CpmMachine;

struct Opts {
    runs: usize,
    scale: u8,
    curve: usize,
    svg: Option<String>,
    dispatch: u64,
    validate: u64,
}

fn opts() -> Opts {
    let mut o = Opts { runs: 5, scale: 20, curve: 20, svg: None, dispatch: 2000, validate: 2 };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--runs" => o.runs = val().parse().expect("--runs N"),
            "--scale" => o.scale = val().parse().expect("--scale K (1..=255)"),
            "--curve" => o.curve = val().parse().expect("--curve N"),
            "--svg" => o.svg = Some(val()),
            "--dispatch" => o.dispatch = val().parse().expect("--dispatch T"),
            "--validate" => o.validate = val().parse().expect("--validate T"),
            _ => panic!(
                "usage: dispatch-bench [--runs R] [--scale K] [--curve N] [--svg FILE] [--dispatch T] [--validate T]"
            ),
        }
    }
    o
}

/// The sequential run: output, final machine, counts, seconds.
struct Sequential {
    out: Vec<u8>,
    machine: Box<CpmMachine>,
    instructions: u64,
    tstates: u64,
    secs: f64,
    /// The thread's CPU time for the run (what it takes on an idle core).
    cpu_secs: f64,
}

fn sequential(image: &[u8]) -> Sequential {
    let mut machine = Box::new(CpmMachine::new(image).expect("a suite image fits"));
    let mut out = Vec::new();
    let t = Instant::now();
    let c = threads::thread_cpu_ns();
    let stats = machine.run(u64::MAX, &mut |b| out.push(b)).expect("a suite program finishes");
    let cpu_secs = threads::thread_cpu_ns().saturating_sub(c) as f64 / 1e9;
    let secs = t.elapsed().as_secs_f64();
    Sequential { out, machine, instructions: stats.instructions, tstates: stats.tstates, secs, cpu_secs }
}

fn exact(s: &Sequential, out: &[u8], r: &Report) -> bool {
    let a = &s.machine.cpu;
    let b = &r.cpu;
    let regs = |c: &zbeam_z80::Cpu| {
        [c.pc, c.sp, c.ix, c.iy, c.wz, c.af_alt, c.bc_alt, c.de_alt, c.hl_alt, c.af(), c.bc(), c.de(), c.hl()]
    };
    out == s.out
        && r.instructions == s.instructions
        && r.tstates == s.tstates
        && regs(a) == regs(b)
        && (a.i, a.r(), a.iff1, a.iff2, a.im, a.q()) == (b.i, b.r(), b.iff1, b.iff2, b.im, b.q())
        && r.mem[..] == s.machine.bus.mem[..]
        && r.result.is_ok()
}

fn dispatched<P: Pool>(
    image: &[u8],
    pool: &mut P,
    instances: usize,
    policy: &mut Policy,
    seed: u64,
) -> (Vec<u8>, Report, f64) {
    let cfg = Config { tasks: instances, seed, ..Config::default() };
    let mut out = Vec::new();
    let t = Instant::now();
    let r = run(image, &cfg, pool, policy, &mut |b| out.push(b));
    (out, r, t.elapsed().as_secs_f64())
}

/// A run on 2 threads timed by their CPU time ([`threads::Clock::Cpu`]): output,
/// report and the seconds it takes on two idle cores.
fn idle_host(image: &[u8], policy: &mut Policy, seed: u64) -> (Vec<u8>, Report, f64) {
    let mut pool = threads::Threads::with_clock(2, threads::Clock::Cpu);
    let t0 = pool.now();
    let (out, r, _) = dispatched(image, &mut pool, 2, policy, seed);
    let secs = pool.now().saturating_sub(t0) as f64 / 1e9;
    (out, r, secs)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn scaled(p: &Program, scale: u8) -> Vec<u8> {
    let mut img = p.image.to_vec();
    img[3] = scale;
    img
}

/// What two threads can do on this host right now: two copies of a program run at
/// once against one alone (2.0 on two idle cores; less when the host is shared).
fn capacity(image: &[u8]) -> f64 {
    let one = median((0..3).map(|_| sequential(image).secs).collect());
    let two = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                std::thread::scope(|s| {
                    let a = s.spawn(|| sequential(image));
                    sequential(image);
                    let _ = a.join();
                });
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );
    2.0 * one / two
}

/// The host's load averages (1, 5, 15 minutes), as /proc/loadavg gives them.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| String::from("unknown"))
}

/// Runs learnt before the `learnt` column is timed (so a sequential program's policy
/// has gone quiet: `zbeam_dispatch::learn::QUIET_AFTER` runs and one more).
const WARM_UP: u32 = zbeam_dispatch::learn::QUIET_AFTER + 1;

fn hosted(o: &Opts) {
    let cap = capacity(&scaled(suite::find("matmul").expect("matmul is in the suite"), o.scale));
    let load_before = loadavg();
    println!("### Hosted, 2 threads (Linux threads), scale {}\n", o.scale);
    println!(
        "Host capacity when this ran: two copies of matmul at once did {cap:.2}x the work of one in the same time \
         (2.00x on two idle cores): no speedup below can exceed it. Load average (1, 5, 15 min) before the table: \
         {load_before}.\n"
    );
    println!(
        "Medians of {} interleaved rounds (sequential, fresh policy, learnt policy, 1 instance). `fresh`: a new \
         policy every run; `learnt`: one policy per program, learnt over {WARM_UP} untimed runs first and kept \
         learning. `seq spread`: (max - min) / median of the sequential times; above 10% the row is marked noise. \
         `exact`: every run bit-exact with the sequential one. `idle-host`: the speedup on two idle cores, from \
         the threads' CPU time (`z80run --cpu-clock`: the dispatcher thread's CPU time, each wave charged its \
         tasks' CPU times scheduled on 2 idle instances, against the sequential run's CPU time; hand-off \
         latency left out; on a virtual machine a thread's CPU time also counts time the host took away), \
         with its own fresh and learnt policies (the learner then also learns from CPU time).\n",
        o.runs
    );
    println!(
        "| program | class | sequential ms | seq spread | fresh ms (2) | fresh speedup | learnt ms (2) | learnt speedup \
         | idle-host fresh | idle-host learnt | squash rate | 1-instance overhead | exact | noise? |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    for p in suite::PROGRAMS {
        let img = scaled(p, o.scale);
        let (mut seq, mut par, mut learnt, mut one) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut seq_cpu, mut idle_fresh, mut idle_learnt) = (Vec::new(), Vec::new(), Vec::new());
        let (mut spec, mut squashed, mut all_exact) = (0u64, 0u64, true);
        let reference = sequential(&img);
        let mut kept = Policy::new(&img);
        let mut kept_idle = Policy::new(&img);
        for run in 0..WARM_UP {
            let (out, r, _) = dispatched(&img, &mut threads::Threads::new(2), 2, &mut kept, run as u64 + 100);
            all_exact &= exact(&reference, &out, &r);
            let (out, r, _) = idle_host(&img, &mut kept_idle, run as u64 + 100);
            all_exact &= exact(&reference, &out, &r);
        }
        for run in 0..o.runs {
            let s = sequential(&img);
            seq.push(s.secs);
            seq_cpu.push(s.cpu_secs);
            let (out, r, secs) = idle_host(&img, &mut Policy::new(&img), run as u64 + 1);
            all_exact &= exact(&reference, &out, &r);
            idle_fresh.push(secs);
            let (out, r, secs) = idle_host(&img, &mut kept_idle, run as u64 + 1);
            all_exact &= exact(&reference, &out, &r);
            idle_learnt.push(secs);
            let mut policy = Policy::new(&img);
            let mut pool = threads::Threads::new(2);
            let (out, r, secs) = dispatched(&img, &mut pool, 2, &mut policy, run as u64 + 1);
            all_exact &= exact(&reference, &out, &r);
            spec += r.stats.speculative;
            squashed += r.stats.squashed_state + r.stats.squashed_memory;
            par.push(secs);
            let mut pool = threads::Threads::new(2);
            let (out, r, secs) = dispatched(&img, &mut pool, 2, &mut kept, run as u64 + 1);
            all_exact &= exact(&reference, &out, &r);
            learnt.push(secs);
            let mut pool = threads::Threads::new(1);
            let (out, r, secs) = dispatched(&img, &mut pool, 1, &mut Policy::new(&img), 1);
            all_exact &= exact(&reference, &out, &r);
            one.push(secs);
        }
        let spread = {
            let (lo, hi) = seq.iter().fold((f64::MAX, 0f64), |(lo, hi), &t| (lo.min(t), hi.max(t)));
            (hi - lo) / median(seq.clone())
        };
        let (s, d, l, d1) = (median(seq), median(par), median(learnt), median(one));
        let (sc, fi, li) = (median(seq_cpu), median(idle_fresh), median(idle_learnt));
        let rate = if spec > 0 { format!("{:.1}%", 100.0 * squashed as f64 / spec as f64) } else { String::from("-") };
        println!(
            "| {} | {} | {:.1} | {:.0}% | {:.1} | {:.2}x | {:.1} | {:.2}x | {:.2}x | {:.2}x | {} | {:+.1}% | {} | {} |",
            p.name,
            p.class,
            s * 1e3,
            spread * 100.0,
            d * 1e3,
            s / d,
            l * 1e3,
            s / l,
            sc / fi,
            sc / li,
            rate,
            100.0 * (d1 / s - 1.0),
            if all_exact { "yes" } else { "NO" },
            if spread > 0.10 { "noise" } else { "" }
        );
    }
    println!("\nLoad average after the table: {}.\n", loadavg());
}

fn curve(o: &Opts) {
    println!("### Learning curve: {} runs on 2 threads sharing a persisted policy, scale {}\n", o.curve, o.scale);
    let shown: Vec<usize> = [1, 2, 3, 5, 10, 15, 20].into_iter().filter(|&r| r <= o.curve).collect();
    print!("| program |");
    for r in &shown {
        print!(" run {r} |");
    }
    println!(" exact |");
    println!("|---|{}---|", "---:|".repeat(shown.len()));
    let mut series = Vec::new();
    for p in suite::PROGRAMS {
        let img = scaled(p, o.scale);
        let reference = sequential(&img);
        let mut policy = Policy::new(&img);
        let mut speedups = Vec::new();
        let mut all_exact = true;
        for run in 0..o.curve {
            let s = sequential(&img);
            let text = policy.to_text();
            policy = Policy::from_text(&text, &img).expect("the policy reads back");
            let mut pool = threads::Threads::new(2);
            let (out, r, secs) = dispatched(&img, &mut pool, 2, &mut policy, run as u64 + 1);
            all_exact &= exact(&reference, &out, &r);
            speedups.push(s.secs / secs);
        }
        print!("| {} |", p.name);
        for r in &shown {
            print!(" {:.2}x |", speedups[r - 1]);
        }
        println!(" {} |", if all_exact { "yes" } else { "NO" });
        series.push((p.name, p.class, speedups));
    }
    println!();
    if let Some(f) = &o.svg {
        std::fs::write(f, svg(&series, "dispatcher speedup per run, 2 threads, policy persisted between runs"))
            .expect("write the SVG");
        println!("(plotted in `{f}`)\n");
    }
}

/// A line plot of speedup per run, one line per program, coloured by class.
fn svg(series: &[(&str, &str, Vec<f64>)], title: &str) -> String {
    let (w, h, left, top, right, bottom) = (760.0, 420.0, 60.0, 30.0, 180.0, 50.0);
    let runs = series.iter().map(|s| s.2.len()).max().unwrap_or(1).max(2);
    let ymax = series.iter().flat_map(|s| s.2.iter().copied()).fold(2.0f64, f64::max).ceil();
    let x = |i: usize| left + (w - left - right) * i as f64 / (runs - 1) as f64;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / ymax);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"18\">{title}</text>\n"
    );
    for k in 0..=(ymax as usize * 2) {
        let v = k as f64 / 2.0;
        let (x2, yv, xt, yt) = (w - right, y(v), left - 6.0, y(v) + 4.0);
        s += &format!(
            "<line x1=\"{left}\" x2=\"{x2}\" y1=\"{yv}\" y2=\"{yv}\" stroke=\"#ddd\"/><text x=\"{xt}\" y=\"{yt}\" text-anchor=\"end\">{v:.1}x</text>\n"
        );
    }
    s += &format!(
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{1}\" y2=\"{1}\" stroke=\"black\" stroke-dasharray=\"4 3\"/>\n",
        w - right,
        y(1.0)
    );
    for i in 0..runs {
        s += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x(i), h - bottom + 16.0, i + 1);
    }
    s += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">run</text>\n", (left + w - right) / 2.0, h - 12.0);
    let colour = |class: &str| match class {
        "loop-parallel" => ["#1b7837", "#5aae61", "#a6dba0", "#00441b", "#7fbf7b"],
        "partly-parallel" => ["#2166ac", "#4393c3", "#92c5de", "#2166ac", "#4393c3"],
        _ => ["#b2182b", "#d6604d", "#f4a582", "#b2182b", "#d6604d"],
    };
    let mut seen = std::collections::HashMap::new();
    for (k, (name, class, v)) in series.iter().enumerate() {
        let n = seen.entry(*class).or_insert(0usize);
        let c = colour(class)[*n % 5];
        *n += 1;
        let pts: Vec<String> =
            v.iter().enumerate().map(|(i, &sp)| format!("{:.1},{:.1}", x(i), y(sp.min(ymax)))).collect();
        s += &format!("<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>\n", pts.join(" "));
        let ly = top + 16.0 * k as f64;
        s += &format!(
            "<line x1=\"{0}\" x2=\"{1}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{c}\" stroke-width=\"2\"/><text x=\"{2}\" y=\"{3}\">{name} ({class})</text>\n",
            w - right + 10.0,
            w - right + 30.0,
            w - right + 34.0,
            ly + 4.0
        );
    }
    s + "</svg>\n"
}

/// The learning curve on the cost model (deterministic): 4 instances, scale 1.
fn model_curve(o: &Opts) {
    let n = 4;
    println!(
        "### Learning curve on the cost model: {} runs on {n} model instances sharing a persisted policy, scale 1\n",
        o.curve
    );
    let shown: Vec<usize> = [1, 2, 3, 5, 10, 15, 20].into_iter().filter(|&r| r <= o.curve).collect();
    print!("| program | class |");
    for r in &shown {
        print!(" run {r} |");
    }
    println!();
    println!("|---|---|{}", "---:|".repeat(shown.len()));
    let mut series = Vec::new();
    for p in suite::PROGRAMS {
        let s = sequential(p.image);
        let mut policy = Policy::new(p.image);
        let mut speedups = Vec::new();
        for run in 0..o.curve {
            let text = policy.to_text();
            policy = Policy::from_text(&text, p.image).expect("the policy reads back");
            let mut pool = CostModel::new(n, o.dispatch, o.validate);
            let (out, r, _) = dispatched(p.image, &mut pool, n, &mut policy, run as u64 + 1);
            assert!(exact(&s, &out, &r), "{} on the model is not bit-exact", p.name);
            speedups.push(s.tstates as f64 / pool.elapsed() as f64);
        }
        print!("| {} | {} |", p.name, p.class);
        for r in &shown {
            print!(" {:.2}x |", speedups[r - 1]);
        }
        println!();
        series.push((p.name, p.class, speedups));
    }
    println!();
    if let Some(f) = &o.svg {
        let f = f.replace(".svg", "-model.svg");
        std::fs::write(
            &f,
            svg(&series, &format!("speedup per run on the cost model, {n} instances, policy persisted between runs")),
        )
        .expect("write the SVG");
        println!("(plotted in `{f}`)\n");
    }
}

fn model(o: &Opts) {
    let sizes = [2usize, 4, 8, 16, 64];
    println!(
        "### Cost model: predicted speedup on N instances (scale 1; {} T-states per task handed off, {} T-states per logged address validated)\n",
        o.dispatch, o.validate
    );
    println!(
        "Sequential cost = the program's T-states; each program runs 5 times sharing a policy, the last run counts.\n"
    );
    print!("| program | class |");
    for n in sizes {
        print!(" {n} |");
    }
    println!();
    println!("|---|---|{}", "---:|".repeat(sizes.len()));
    let mut by_class: std::collections::BTreeMap<&str, Vec<Vec<f64>>> = Default::default();
    for p in suite::PROGRAMS {
        let s = sequential(p.image);
        let mut row = Vec::new();
        for n in sizes {
            let mut policy = Policy::new(p.image);
            let mut last = 0.0;
            for run in 0..5 {
                let mut pool = CostModel::new(n, o.dispatch, o.validate);
                let (out, r, _) = dispatched(p.image, &mut pool, n, &mut policy, run + 1);
                assert!(exact(&s, &out, &r), "{} on {n} model instances is not bit-exact", p.name);
                last = s.tstates as f64 / pool.elapsed() as f64;
            }
            row.push(last);
        }
        print!("| {} | {} |", p.name, p.class);
        for v in &row {
            print!(" {v:.2}x |");
        }
        println!();
        by_class.entry(p.class).or_default().push(row);
    }
    println!("\nGeometric mean by class:\n");
    print!("| class |");
    for n in sizes {
        print!(" {n} |");
    }
    println!();
    println!("|---|{}", "---:|".repeat(sizes.len()));
    for (class, rows) in &by_class {
        print!("| {class} |");
        for i in 0..sizes.len() {
            let g = (rows.iter().map(|r| r[i].ln()).sum::<f64>() / rows.len() as f64).exp();
            print!(" {g:.2}x |");
        }
        println!();
    }
    println!();
}

fn main() {
    let o = opts();
    model(&o);
    model_curve(&o);
    hosted(&o);
    curve(&o);
}
