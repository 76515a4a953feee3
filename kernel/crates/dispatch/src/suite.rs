//! The program suite written for the dispatcher (`programs/dispatch/`), assembled at
//! build time, each with its class and its expected console output (the sequential
//! run's, recorded in `programs/dispatch/NAME.out`), and the CP/M test programs.

/// One program of the suite.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    /// File stem.
    pub name: &'static str,
    /// `loop-parallel`, `partly-parallel` or `sequential`.
    pub class: &'static str,
    /// The CP/M `.COM` image.
    pub image: &'static [u8],
    /// Console output of the sequential run.
    pub expected: &'static [u8],
}

/// Every program, sorted by name.
pub static PROGRAMS: &[Program] = include!(concat!(env!("OUT_DIR"), "/suite.rs"));

/// The program called `name`.
pub fn find(name: &str) -> Option<&'static Program> {
    PROGRAMS.iter().find(|p| p.name == name)
}

/// The CP/M test programs (`programs/cpm/`), named `cpm-NAME` as the kernel names them:
/// they use the BDOS file functions, so they run on the CP/M machine
/// ([`crate::run_cpm`]).
pub static CPM: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/cpm.rs"));
