//! Where host tests and tools find the shared test data that nobody here wrote.
//!
//! The data lives beside the checkout in `../shared/testdata` (see DESIGN.md, "Test
//! data"); `ZBEAM_TESTDATA` overrides the location. A test that needs a missing file
//! calls [`require`], and the test fails, naming the file and the variable. Only an
//! explicit `ZBEAM_SKIP_TESTDATA=1` turns that into a skip: the test prints one line,
//! appends it to the file `ZBEAM_SKIP_LOG` names (if any), and returns early; `make
//! test` counts those lines at the end of the run, so a skip is never silent.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// The environment variable that overrides the test-data directory.
pub const VAR: &str = "ZBEAM_TESTDATA";

/// The test-data root: `$ZBEAM_TESTDATA`, or `../shared/testdata` next to the
/// workspace root.
pub fn root() -> PathBuf {
    match std::env::var_os(VAR) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"),
    }
}

/// The opt-out: with `ZBEAM_SKIP_TESTDATA=1`, tests whose data is missing are skipped
/// (and counted) instead of failing.
pub const SKIP_VAR: &str = "ZBEAM_SKIP_TESTDATA";

/// A file to which each skip appends one line (`make test` sets it and counts them).
pub const SKIP_LOG_VAR: &str = "ZBEAM_SKIP_LOG";

/// True when the run has opted out of the shared data ([`SKIP_VAR`] is `1`).
pub fn skipping_allowed() -> bool {
    std::env::var(SKIP_VAR).is_ok_and(|v| v == "1" || v == "true")
}

/// The path of `rel` under the test-data root, if it exists.
///
/// When it does not, this panics (the test fails) with a message naming the file and
/// [`VAR`], unless [`SKIP_VAR`] is set: then it prints one line, records it in the
/// [`SKIP_LOG_VAR`] file, and returns `None` so the caller can return early.
pub fn require(rel: &str) -> Option<PathBuf> {
    let path = root().join(rel);
    if path.exists() {
        return Some(path);
    }
    let msg = format!(
        "test data {} not found (clone the shared data beside the checkout as ../shared, or set {VAR}; \
         {SKIP_VAR}=1 skips such tests)",
        path.display()
    );
    if !skipping_allowed() {
        panic!("{msg}");
    }
    eprintln!("skipped: {msg}");
    if let Some(log) = std::env::var_os(SKIP_LOG_VAR) {
        use std::io::Write;
        let line = format!("{}: {rel}\n", std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default());
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
            let _ = f.write_all(line.as_bytes());
        }
    }
    None
}

/// Reads `rel` under the test-data root; `None` when it is missing and skipping is on.
pub fn read(rel: &str) -> Option<Vec<u8>> {
    let path = require(rel)?;
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_points_at_the_shared_folder() {
        // Only meaningful when the data is present; the path shape is checked always.
        assert!(root().ends_with("testdata"));
        if let Some(p) = require("z80/SOURCES.md") {
            assert!(std::fs::metadata(p).unwrap().len() > 0);
        }
    }
}
