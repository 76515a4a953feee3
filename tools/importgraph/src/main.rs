//! `importgraph CRATE_ROOT.rs [--dot]`: prints the import circles among the crate's
//! files and exits 1 if there is any (0 otherwise); `--dot` prints the whole graph in
//! Graphviz form instead. `make lint` runs it on `kernel/src/lib.rs`.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dot = args.iter().any(|a| a == "--dot");
    let Some(root) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: importgraph CRATE_ROOT.rs [--dot]");
        return ExitCode::from(2);
    };
    let graph = match zbeam_importgraph::Graph::load(Path::new(root)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("importgraph: {e}");
            return ExitCode::from(2);
        }
    };
    if dot {
        print!("{}", graph.dot());
        return ExitCode::SUCCESS;
    }
    let circles = graph.circles();
    if circles.is_empty() {
        println!("importgraph: {} files, {} imports, no circle", graph.files.len(), graph.edge_count());
        return ExitCode::SUCCESS;
    }
    for c in &circles {
        println!("importgraph: import circle of {} files:", c.len());
        for &f in c {
            let to: Vec<&str> =
                graph.edges[f].iter().filter(|t| c.contains(t)).map(|&t| graph.files[t].as_str()).collect();
            println!("  {} -> {}", graph.files[f], to.join(", "));
        }
    }
    ExitCode::FAILURE
}
