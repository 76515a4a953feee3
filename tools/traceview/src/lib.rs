//! zbeam-traceview: reads the text a zbeam kernel prints for `trace dump` and draws it
//! as an SVG timeline: one lane per core, a coloured box per time slice (one colour
//! per process), spawn and exit marks, a time axis and a legend.
//!
//! The input format is documented in `kernel/src/trace.rs`; in short:
//!
//! ```text
//! trace begin v1 cores=<n> unit=ns events=<count> lost=<count>
//! <t> <core> start <pid> <name> <prio> <local|steal:<from>|migr:<from>>
//! <t> <core> end <pid> <reductions> <budget|yield|wait|exit>
//! <t> <core> spawn <pid> <name> <queue core>
//! <t> <core> exit <pid> <how>
//! trace end
//! ```
//!
//! `<pid>` is the engine's 32-bit pid (slot index and generation), as `ps` shows it,
//! so a slot's successive processes are told apart.
//!
//! The dump may sit anywhere in a saved console log: everything outside the last
//! complete `trace begin` ... `trace end` block is ignored, and lines inside it that
//! are not events (process output printed by another core meanwhile) are skipped and
//! counted.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt::Write;

/// One parsed event line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A slice begins.
    Start {
        /// Time in ns.
        t: u64,
        /// Core.
        core: usize,
        /// Process.
        pid: u32,
        /// Its name.
        name: String,
        /// Its priority (as printed).
        prio: String,
        /// `local`, `steal:<from>` or `migr:<from>`.
        source: String,
    },
    /// A slice ends.
    End {
        /// Time in ns.
        t: u64,
        /// Core.
        core: usize,
        /// Process.
        pid: u32,
        /// Reductions used in the slice.
        reductions: u64,
        /// Why it ended.
        why: String,
    },
    /// A process was created.
    Spawn {
        /// Time in ns.
        t: u64,
        /// Core that spawned it.
        core: usize,
        /// The new process.
        pid: u32,
        /// Its name.
        name: String,
    },
    /// A process ended.
    Exit {
        /// Time in ns.
        t: u64,
        /// Core that tore it down.
        core: usize,
        /// The process.
        pid: u32,
        /// How it ended.
        how: String,
    },
}

impl Event {
    /// Its time stamp.
    pub fn time(&self) -> u64 {
        match self {
            Event::Start { t, .. } | Event::End { t, .. } | Event::Spawn { t, .. } | Event::Exit { t, .. } => *t,
        }
    }
}

/// A parsed dump.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// Cores, from the header.
    pub cores: usize,
    /// Events the kernel could not record (from the header).
    pub lost: u64,
    /// The events, in file order.
    pub events: Vec<Event>,
    /// Lines inside the block that were not events.
    pub skipped: usize,
}

/// Why a dump could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// No `trace begin` ... `trace end` block in the input.
    NoDump,
    /// The `trace begin` line lacks `cores=` (or has a value that is not a number).
    BadHeader(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::NoDump => write!(f, "no complete `trace begin` ... `trace end` block in the input"),
            ParseError::BadHeader(l) => write!(f, "bad trace header {l:?} (expected `trace begin v1 cores=<n> ...`)"),
        }
    }
}

impl std::error::Error for ParseError {}

fn header_value(line: &str, key: &str) -> Option<u64> {
    line.split_whitespace().find_map(|w| w.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

fn parse_event(line: &str) -> Option<Event> {
    let w: Vec<&str> = line.split_whitespace().collect();
    if w.len() < 4 {
        return None;
    }
    let t: u64 = w[0].parse().ok()?;
    let core: usize = w[1].parse().ok()?;
    let pid: u32 = w[3].parse().ok()?;
    let ev = match (w[2], w.len()) {
        ("start", 7) => {
            Event::Start { t, core, pid, name: w[4].to_string(), prio: w[5].to_string(), source: w[6].to_string() }
        }
        ("end", 6) => Event::End { t, core, pid, reductions: w[4].parse().ok()?, why: w[5].to_string() },
        ("spawn", 6) => Event::Spawn { t, core, pid, name: w[4].to_string() },
        ("exit", 5) => Event::Exit { t, core, pid, how: w[4].to_string() },
        _ => return None,
    };
    Some(ev)
}

/// Parses the last complete dump in `text` (a console log or a bare dump).
pub fn parse(text: &str) -> Result<Trace, ParseError> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let end = lines.iter().rposition(|l| l.trim() == "trace end").ok_or(ParseError::NoDump)?;
    let begin =
        lines[..end].iter().rposition(|l| l.trim_start().starts_with("trace begin")).ok_or(ParseError::NoDump)?;
    let header = lines[begin].trim();
    let cores = header_value(header, "cores").ok_or_else(|| ParseError::BadHeader(header.to_string()))? as usize;
    let mut trace = Trace { cores, lost: header_value(header, "lost").unwrap_or(0), ..Trace::default() };
    for line in &lines[begin + 1..end] {
        match parse_event(line) {
            Some(ev) => trace.events.push(ev),
            None => trace.skipped += 1,
        }
    }
    Ok(trace)
}

/// One time slice of one process on one core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    /// Core.
    pub core: usize,
    /// Process.
    pub pid: u32,
    /// Start and end time in ns.
    pub start: u64,
    /// End time in ns.
    pub end: u64,
    /// Reductions used (0 if the end was not recorded).
    pub reductions: u64,
    /// Why it ended (`open` if the dump ended first).
    pub why: String,
}

/// What the drawing needs: slices, marks, names, the time span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// Cores (lanes).
    pub cores: usize,
    /// Slices in start order.
    pub slices: Vec<Slice>,
    /// Spawns: (time, core, pid).
    pub spawns: Vec<(u64, usize, u32)>,
    /// Exits: (time, core, pid, how).
    pub exits: Vec<(u64, usize, u32, String)>,
    /// Process names by pid.
    pub names: BTreeMap<u32, String>,
    /// Earliest and latest time stamp.
    pub span: (u64, u64),
}

/// Pairs slice starts with their ends, per core. An end whose start was lost (the
/// ring wrapped) is dropped; a start still open when the dump ends runs to its end.
pub fn timeline(trace: &Trace) -> Timeline {
    let mut tl = Timeline { cores: trace.cores, ..Timeline::default() };
    let first = trace.events.iter().map(Event::time).min().unwrap_or(0);
    let last = trace.events.iter().map(Event::time).max().unwrap_or(0);
    tl.span = (first, last);
    let mut open: BTreeMap<usize, (u32, u64)> = BTreeMap::new();
    for ev in &trace.events {
        match ev {
            Event::Start { t, core, pid, name, .. } => {
                tl.names.entry(*pid).or_insert_with(|| name.clone());
                tl.cores = tl.cores.max(core + 1);
                if let Some((p, s)) = open.insert(*core, (*pid, *t)) {
                    tl.slices.push(Slice { core: *core, pid: p, start: s, end: *t, reductions: 0, why: "open".into() });
                }
            }
            Event::End { t, core, pid, reductions, why } => {
                if let Some((p, s)) = open.remove(core) {
                    if p == *pid {
                        tl.slices.push(Slice {
                            core: *core,
                            pid: p,
                            start: s,
                            end: *t,
                            reductions: *reductions,
                            why: why.clone(),
                        });
                    }
                }
            }
            Event::Spawn { t, core, pid, name } => {
                tl.names.insert(*pid, name.clone());
                tl.spawns.push((*t, *core, *pid));
            }
            Event::Exit { t, core, pid, how } => tl.exits.push((*t, *core, *pid, how.clone())),
        }
    }
    for (core, (pid, s)) in open {
        tl.slices.push(Slice { core, pid, start: s, end: last, reductions: 0, why: "open".into() });
    }
    tl.slices.sort_by_key(|s| (s.start, s.core));
    tl
}

/// A colour for `pid`: hues spread by the golden angle so neighbours differ.
pub fn colour(pid: u32) -> String {
    let hue = (pid as u64 * 137_508 / 1000) % 360;
    let light = if pid.is_multiple_of(2) { 45 } else { 60 };
    format!("hsl({hue},70%,{light}%)")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Picks a round step for about `target` axis ticks over `span` ns.
fn tick_step(span: u64, target: u64) -> u64 {
    let raw = (span / target.max(1)).max(1);
    let mut step = 1;
    while step * 10 <= raw {
        step *= 10;
    }
    for m in [1, 2, 5, 10] {
        if step * m >= raw {
            return step * m;
        }
    }
    step * 10
}

fn time_label(ns: u64) -> String {
    if ns >= 1_000_000_000 {
        format!("{:.3} s", ns as f64 / 1e9)
    } else if ns >= 1_000_000 {
        format!("{:.3} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} us", ns as f64 / 1e3)
    }
}

/// Drawing size.
const WIDTH: f64 = 1200.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 50.0;
const LANE: f64 = 32.0;
const LEGEND_ROW: f64 = 18.0;

/// Draws `tl` as a standalone SVG document.
pub fn svg(tl: &Timeline) -> String {
    let (t0, t1) = tl.span;
    let span = (t1 - t0).max(1);
    let plot = WIDTH - LEFT - RIGHT;
    let x = |t: u64| LEFT + (t.saturating_sub(t0)) as f64 * plot / span as f64;
    let lanes_h = tl.cores as f64 * LANE;
    // Legend: processes by total time on a core, longest first.
    let mut busy: BTreeMap<u32, u64> = BTreeMap::new();
    for s in &tl.slices {
        *busy.entry(s.pid).or_default() += s.end - s.start;
    }
    let mut legend: Vec<(u32, u64)> = busy.into_iter().collect();
    legend.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let cols = 4usize;
    let legend_rows = legend.len().div_ceil(cols);
    let height = TOP + lanes_h + 40.0 + legend_rows as f64 * LEGEND_ROW + 20.0;

    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="monospace" font-size="11">"#
    );
    let _ = writeln!(
        o,
        r#"<title>zbeam trace: {} cores, {} slices, {}</title>"#,
        tl.cores,
        tl.slices.len(),
        time_label(span)
    );
    let _ = writeln!(o, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{LEFT}" y="18" font-size="13">zbeam trace: {} cores, {} slices over {}</text>"#,
        tl.cores,
        tl.slices.len(),
        time_label(span)
    );
    // Time axis.
    let _ = writeln!(o, r#"<g class="axis">"#);
    let step = tick_step(span, 10);
    let mut t = 0;
    while t <= span {
        let xt = LEFT + t as f64 * plot / span as f64;
        let _ = writeln!(
            o,
            r##"<line x1="{xt:.1}" y1="{}" x2="{xt:.1}" y2="{}" stroke="#ddd"/><text x="{xt:.1}" y="{}" text-anchor="middle">{}</text>"##,
            TOP - 4.0,
            TOP + lanes_h,
            TOP - 8.0,
            time_label(t)
        );
        t += step;
    }
    let _ = writeln!(o, "</g>");
    // Lanes.
    let _ = writeln!(o, r#"<g class="lanes">"#);
    for c in 0..tl.cores {
        let y = TOP + c as f64 * LANE;
        let _ = writeln!(
            o,
            r##"<rect class="lane" x="{LEFT}" y="{y}" width="{plot}" height="{LANE}" fill="{}" stroke="#ccc"/><text x="8" y="{}">core {c}</text>"##,
            if c.is_multiple_of(2) { "#f7f7f7" } else { "#eeeeee" },
            y + LANE / 2.0 + 4.0
        );
    }
    let _ = writeln!(o, "</g>");
    // Slices.
    let _ = writeln!(o, r#"<g class="slices">"#);
    for s in &tl.slices {
        let (x0, x1) = (x(s.start), x(s.end));
        let y = TOP + s.core as f64 * LANE + 3.0;
        let name = tl.names.get(&s.pid).map_or("?", String::as_str);
        let _ = writeln!(
            o,
            r#"<rect class="slice" x="{x0:.2}" y="{y}" width="{:.2}" height="{}" fill="{}"><title>pid {} {} on core {}: {}, {} reductions, ended: {}</title></rect>"#,
            (x1 - x0).max(0.5),
            LANE - 6.0,
            colour(s.pid),
            s.pid,
            escape(name),
            s.core,
            time_label(s.end - s.start),
            s.reductions,
            escape(&s.why)
        );
    }
    let _ = writeln!(o, "</g>");
    // Spawn (green) and exit (red) marks at the top of the lane that recorded them.
    let _ = writeln!(o, r#"<g class="marks">"#);
    for &(t, core, pid) in &tl.spawns {
        let (xt, y) = (x(t), TOP + core as f64 * LANE);
        let _ = writeln!(
            o,
            r#"<path class="spawn" d="M{xt:.2},{y} l-4,-6 h8 z" fill="green"><title>spawn pid {pid} {}</title></path>"#,
            escape(tl.names.get(&pid).map_or("?", String::as_str))
        );
    }
    for (t, core, pid, how) in &tl.exits {
        let (xt, y) = (x(*t), TOP + *core as f64 * LANE + LANE);
        let _ = writeln!(
            o,
            r#"<path class="exit" d="M{xt:.2},{y} l-4,6 h8 z" fill="red"><title>exit pid {pid} {}: {}</title></path>"#,
            escape(tl.names.get(pid).map_or("?", String::as_str)),
            escape(how)
        );
    }
    let _ = writeln!(o, "</g>");
    // Legend.
    let ly = TOP + lanes_h + 30.0;
    let _ = writeln!(o, r#"<g class="legend">"#);
    let col_w = (WIDTH - LEFT) / cols as f64;
    for (i, (pid, total)) in legend.iter().enumerate() {
        let lx = LEFT + (i % cols) as f64 * col_w;
        let y = ly + (i / cols) as f64 * LEGEND_ROW;
        let _ = writeln!(
            o,
            r##"<g class="entry"><rect x="{lx}" y="{}" width="12" height="12" fill="{}" stroke="#333"/><text x="{}" y="{}">{pid} {} ({})</text></g>"##,
            y - 10.0,
            colour(*pid),
            lx + 16.0,
            y,
            escape(tl.names.get(pid).map_or("?", String::as_str)),
            time_label(*total)
        );
    }
    let _ = writeln!(o, "</g>");
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
zbeam> trace dump\r
trace begin v1 cores=2 unit=ns events=9 lost=3\r
1000 0 spawn 7 relay 1
2000 0 start 1 shell high local
2500 1 start 7 relay normal steal:0
Hello from a Z80 process
3000 0 end 1 40 wait
4000 1 end 7 900 budget
4100 1 start 7 relay normal local
5000 0 start 9 <odd&name> low migr:1
6000 1 end 7 10 exit
6100 1 exit 7 fault:1
trace end
zbeam> ";

    #[test]
    fn parses_the_block_inside_a_console_log() {
        let t = parse(LOG).unwrap();
        assert_eq!((t.cores, t.lost, t.events.len(), t.skipped), (2, 3, 9, 1));
        assert_eq!(t.events[0], Event::Spawn { t: 1000, core: 0, pid: 7, name: "relay".into() });
        assert_eq!(
            t.events[2],
            Event::Start {
                t: 2500,
                core: 1,
                pid: 7,
                name: "relay".into(),
                prio: "normal".into(),
                source: "steal:0".into()
            }
        );
        assert_eq!(t.events[8], Event::Exit { t: 6100, core: 1, pid: 7, how: "fault:1".into() });
    }

    #[test]
    fn the_last_complete_dump_wins_and_no_dump_is_an_error() {
        let two = format!("trace begin v1 cores=8\n1 0 start 1 a high local\ntrace end\n{LOG}");
        assert_eq!(parse(&two).unwrap().cores, 2);
        assert_eq!(parse("zbeam> ps\n"), Err(ParseError::NoDump));
        assert_eq!(parse("trace begin v1\ntrace end\n"), Err(ParseError::BadHeader("trace begin v1".into())));
        // A dump cut short (no end line) is not complete.
        assert_eq!(parse("trace begin v1 cores=1\n1 0 start 1 a high local\n"), Err(ParseError::NoDump));
    }

    #[test]
    fn slices_pair_per_core_and_open_ones_run_to_the_end() {
        let tl = timeline(&parse(LOG).unwrap());
        let got: Vec<(usize, u32, u64, u64, &str)> =
            tl.slices.iter().map(|s| (s.core, s.pid, s.start, s.end, s.why.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (0, 1, 2000, 3000, "wait"),
                (1, 7, 2500, 4000, "budget"),
                (1, 7, 4100, 6000, "exit"),
                (0, 9, 5000, 6100, "open"),
            ]
        );
        assert_eq!(tl.span, (1000, 6100));
        assert_eq!(tl.names.get(&1).map(String::as_str), Some("shell"));
        assert_eq!(tl.spawns, vec![(1000, 0, 7)]);
        assert_eq!(tl.exits.len(), 1);
    }

    #[test]
    fn an_end_without_its_start_is_dropped() {
        let t = parse(
            "trace begin v1 cores=1\n10 0 end 3 5 wait\n20 0 start 4 x low local\n30 0 end 4 6 yield\ntrace end\n",
        )
        .unwrap();
        let tl = timeline(&t);
        assert_eq!(tl.slices.len(), 1);
        assert_eq!((tl.slices[0].pid, tl.slices[0].reductions), (4, 6));
    }

    #[test]
    fn svg_has_a_lane_per_core_a_box_per_slice_and_a_legend_entry_per_process() {
        let tl = timeline(&parse(LOG).unwrap());
        let s = svg(&tl);
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches(r#"class="lane""#).count(), 2);
        assert_eq!(s.matches(r#"class="slice""#).count(), 4);
        assert_eq!(s.matches(r#"<g class="entry">"#).count(), 3);
        assert_eq!(s.matches(r#"class="spawn""#).count(), 1);
        assert_eq!(s.matches(r#"class="exit""#).count(), 1);
        // Same process, same colour; names are escaped.
        assert_eq!(s.matches(&format!("fill=\"{}\"", colour(7))).count(), 3);
        assert!(s.contains("&lt;odd&amp;name&gt;") && !s.contains("<odd&name>"));
        // Every opened group is closed.
        assert_eq!(s.matches("<g").count(), s.matches("</g>").count());
        assert_eq!(s.matches("<path").count(), s.matches("</path>").count());
    }

    #[test]
    fn a_slots_successive_processes_are_told_apart_by_their_32_bit_pids() {
        // Slot 5 holds `old`, then (generation 1, bit 21) `new`.
        let log = "trace begin v1 cores=1\n\
                   10 0 start 5 old normal local\n20 0 end 5 9 exit\n25 0 exit 5 normal\n\
                   30 0 spawn 2097157 new 0\n40 0 start 2097157 new normal local\n50 0 end 2097157 4 wait\n\
                   trace end\n";
        let tl = timeline(&parse(log).unwrap());
        assert_eq!(tl.names.get(&5).map(String::as_str), Some("old"));
        assert_eq!(tl.names.get(&2_097_157).map(String::as_str), Some("new"));
        let s = svg(&tl);
        assert_eq!(s.matches(r#"<g class="entry">"#).count(), 2);
        assert!(s.contains(">2097157 new (") && s.contains(">5 old ("), "{s}");
    }

    #[test]
    fn boxes_are_placed_in_time_order_inside_the_plot() {
        let tl = timeline(&parse(LOG).unwrap());
        let s = svg(&tl);
        let xs: Vec<f64> = s
            .lines()
            .filter(|l| l.contains(r#"class="slice""#))
            .map(|l| l.split("x=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap())
            .collect();
        assert!(xs.windows(2).all(|w| w[0] <= w[1]), "{xs:?}");
        assert!(xs.iter().all(|&x| (LEFT..=WIDTH - RIGHT).contains(&x)));
        // The first slice starts 1000 ns into a 5100 ns span.
        assert!((xs[0] - (LEFT + 1000.0 * (WIDTH - LEFT - RIGHT) / 5100.0)).abs() < 0.01);
    }

    #[test]
    fn tick_steps_are_round() {
        assert_eq!(tick_step(5100, 10), 1000);
        assert_eq!(tick_step(1_000_000, 10), 100_000);
        assert_eq!(tick_step(3_000_000, 10), 500_000);
        assert_eq!(tick_step(0, 10), 1);
    }
}
