//! Where host tests and tools find the shared test data that nobody here wrote.
//!
//! The data lives beside the checkout in `../shared/testdata` (see DESIGN.md, "Test
//! data"); `ZBEAM_TESTDATA` overrides the location. A test that needs a missing file
//! calls [`require`]: outside CI it prints one line naming the variable and the test
//! is skipped; with `CI=true` a missing file is a failure, never a silent skip.
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

/// True when running under CI (`CI=true`), where missing data is an error.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The path of `rel` under the test-data root, if it exists.
///
/// When it does not: under CI this panics (the test fails); otherwise it prints one
/// line naming [`VAR`] and returns `None`, so the caller can return early.
pub fn require(rel: &str) -> Option<PathBuf> {
    let path = root().join(rel);
    if path.exists() {
        return Some(path);
    }
    let msg = format!("test data {} not found (set {VAR} to the shared testdata directory)", path.display());
    if in_ci() {
        panic!("{msg}");
    }
    eprintln!("skipped: {msg}");
    None
}

/// Reads `rel` under the test-data root; `None` (outside CI) when it is missing.
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
