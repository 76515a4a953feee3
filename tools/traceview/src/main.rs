//! `traceview [INPUT|-] [-o OUTPUT.svg]`: reads a zbeam `trace dump` (a saved console
//! log will do; default: standard input) and writes the SVG timeline (default:
//! standard output). A one-line summary goes to standard error.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::process::ExitCode;

const USAGE: &str = "usage: traceview [INPUT|-] [-o OUTPUT.svg]  (reads a zbeam `trace dump`, writes an SVG)";

fn main() -> ExitCode {
    let mut input: Option<String> = None;
    let mut output: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-o" => match args.next() {
                Some(o) => output = Some(o),
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if input.is_none() => input = Some(a),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let mut bytes = Vec::new();
    let read = match input.as_deref() {
        None | Some("-") => std::io::stdin().read_to_end(&mut bytes).map(|_| ()),
        Some(path) => std::fs::read(path).map(|b| bytes = b),
    };
    if let Err(e) = read {
        eprintln!("traceview: cannot read {}: {e}", input.as_deref().unwrap_or("standard input"));
        return ExitCode::FAILURE;
    }
    // Console logs may hold stray non-UTF-8 bytes; they never matter to the dump.
    let text = String::from_utf8_lossy(&bytes);
    let trace = match zbeam_traceview::parse(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("traceview: {e}");
            return ExitCode::FAILURE;
        }
    };
    let tl = zbeam_traceview::timeline(&trace);
    let svg = zbeam_traceview::svg(&tl);
    let written = match output.as_deref() {
        None | Some("-") => std::io::stdout().write_all(svg.as_bytes()),
        Some(path) => std::fs::write(path, &svg),
    };
    if let Err(e) = written {
        eprintln!("traceview: cannot write the SVG: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "traceview: {} cores, {} events ({} lines skipped, {} lost in the kernel), {} slices, {} processes",
        tl.cores,
        trace.events.len(),
        trace.skipped,
        trace.lost,
        tl.slices.len(),
        tl.names.len()
    );
    ExitCode::SUCCESS
}
