//! The program suite written for the dispatcher (`programs/dispatch/`), assembled at
//! build time, each with its class and its expected console output (the sequential
//! run's, recorded in `programs/dispatch/NAME.out`).

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
