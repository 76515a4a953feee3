//! Formatting: the header (command, machine, toolchain), the results table as aligned
//! text or Markdown, and the notes under it.

use crate::harness::{self, Verdict};

/// One table row: a core's figures over all its runs.
pub struct Row {
    /// "name version", e.g. "z80 2.0.0".
    pub core: String,
    /// Whether the core is a peer (counts for the "fastest peer" ratio).
    pub peer: bool,
    /// The figures, or why there are none.
    pub result: Result<Figures, String>,
}

/// The measured figures of one core.
pub struct Figures {
    pub instructions: u64,
    pub tstates: u64,
    /// Median wall-clock seconds per run.
    pub median_secs: f64,
    pub min_secs: f64,
    pub max_secs: f64,
    pub verdict: Verdict,
}

impl Figures {
    /// Millions of instructions per second at the median time.
    pub fn mips(&self) -> f64 {
        self.instructions as f64 / self.median_secs / 1e6
    }
}

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The command line, each argument shell-quoted when it needs to be.
pub fn command_line(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// "2 CPUs, AMD EPYC" from the available parallelism and /proc/cpuinfo.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!(", Linux {}", s.trim()))
        .unwrap_or_default();
    format!("{cpus} CPUs (nproc), {model}{kernel}")
}

/// Today's UTC date as YYYY-MM-DD, from the system clock.
pub fn today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The table's column titles.
fn titles(runs: usize) -> [String; 8] {
    [
        "core".into(),
        "instructions".into(),
        "T-states".into(),
        format!("seconds (median of {runs})"),
        "min–max s".into(),
        "MIPS".into(),
        "time ÷ fastest peer".into(),
        "output".into(),
    ]
}

/// The table's cells, one `Vec` per row.
fn cells(rows: &[Row]) -> Vec<Vec<String>> {
    let fastest_peer = fastest_peer_secs(rows);
    rows.iter()
        .map(|row| match &row.result {
            Ok(f) => vec![
                row.core.clone(),
                thousands(f.instructions),
                thousands(f.tstates),
                format!("{:.3}", f.median_secs),
                format!("{:.3}–{:.3}", f.min_secs, f.max_secs),
                format!("{:.1}", f.mips()),
                fastest_peer.map_or("-".into(), |p| format!("{:.2}", f.median_secs / p)),
                f.verdict.label().into(),
            ],
            Err(e) => {
                let mut v = vec![row.core.clone()];
                v.extend(std::iter::repeat_n("-".to_string(), 6));
                v.push(format!("error: {e}"));
                v
            }
        })
        .collect()
}

/// The median time of the fastest peer that ran and did not fail; any peer that ran if
/// they all failed.
pub fn fastest_peer_secs(rows: &[Row]) -> Option<f64> {
    let peers = || rows.iter().filter(|r| r.peer).filter_map(|r| r.result.as_ref().ok());
    let min = |it: &mut dyn Iterator<Item = &Figures>| it.map(|f| f.median_secs).min_by(|a, b| a.total_cmp(b));
    min(&mut peers().filter(|f| f.verdict != Verdict::Fail)).or_else(|| min(&mut peers()))
}

/// The table as aligned plain text (numbers right-aligned).
pub fn text_table(rows: &[Row], runs: usize) -> String {
    let titles = titles(runs);
    let body = cells(rows);
    let width = |col: usize| {
        body.iter().map(|r| r[col].chars().count()).chain([titles[col].chars().count()]).max().unwrap_or(0)
    };
    let widths: Vec<usize> = (0..titles.len()).map(width).collect();
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                s.push_str("  ");
            }
            // The core name and the verdict read left to right; numbers align right.
            if i == 0 || i == cells.len() - 1 {
                s.push_str(cell);
                if i != cells.len() - 1 {
                    s.push_str(&" ".repeat(pad));
                }
            } else {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(&titles);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&line(&rule));
    for r in &body {
        out.push_str(&line(r));
    }
    out
}

/// The table as GitHub-flavoured Markdown.
pub fn markdown_table(rows: &[Row], runs: usize) -> String {
    let titles = titles(runs);
    let mut out = format!("| {} |\n", titles.join(" | "));
    let align: Vec<&str> =
        (0..titles.len()).map(|i| if i == 0 || i == titles.len() - 1 { "---" } else { "---:" }).collect();
    out.push_str(&format!("| {} |\n", align.join(" | ")));
    for r in cells(rows) {
        out.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    out
}

/// How a full zexdoc run's counts compare with the harness reference, given the
/// adapter's per-call trap overhead.
pub fn reference_check(instructions: u64, tstates: u64, bdos_calls: u64, overhead: (u64, u64)) -> String {
    let expect_i = harness::REF_INSTRUCTIONS + overhead.0 * bdos_calls;
    let expect_t = harness::REF_TSTATES + overhead.1 * bdos_calls;
    let delta = |got: u64, want: u64| -> String {
        match got as i128 - want as i128 {
            0 => "= reference".into(),
            d if d > 0 => format!("= reference + {}", thousands(d as u64)),
            d => format!("= reference - {}", thousands(d.unsigned_abs() as u64)),
        }
    };
    let trap = if overhead == (0, 0) {
        String::new()
    } else {
        format!(
            " (reference adjusted by +{} instructions and +{} T for each of the {bdos_calls} \
             BDOS calls, the port trap's cost)",
            overhead.0, overhead.1
        )
    };
    format!("instructions {}, T-states {}{trap}", delta(instructions, expect_i), delta(tstates, expect_t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(5_764_169_610), "5,764,169,610");
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_413), (2025, 11, 21));
        assert_eq!(civil_from_days(20_778), (2026, 11, 21));
    }

    #[test]
    fn quoting() {
        let args = ["bench".to_string(), "--only".into(), "a b".into()];
        assert_eq!(command_line(&args), "bench --only 'a b'");
    }

    #[test]
    fn reference_counts() {
        let ok = reference_check(harness::REF_INSTRUCTIONS, harness::REF_TSTATES, 136, (0, 0));
        assert_eq!(ok, "instructions = reference, T-states = reference");
        let port = reference_check(harness::REF_INSTRUCTIONS + 408, harness::REF_TSTATES + 4624, 136, (3, 34));
        assert!(port.starts_with("instructions = reference, T-states = reference ("));
        let slow = reference_check(harness::REF_INSTRUCTIONS, harness::REF_TSTATES + 1000, 0, (0, 0));
        assert_eq!(slow, "instructions = reference, T-states = reference + 1,000");
    }
}
