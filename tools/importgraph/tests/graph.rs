//! The import graph on small in-memory crates.

use std::collections::HashMap;
use std::path::Path;
use zbeam_importgraph::Graph;

fn graph(files: &[(&str, &str)]) -> Graph {
    let map: HashMap<String, String> = files.iter().map(|(p, s)| (format!("src/{p}"), s.to_string())).collect();
    Graph::build(Path::new("src/lib.rs"), &|p: &Path| map.get(p.to_str()?).cloned()).expect("the crate loads")
}

fn imports(g: &Graph, from: &str) -> Vec<String> {
    let f = g.file(from).expect("file is in the graph");
    let mut names: Vec<String> = g.edges[f].iter().map(|&t| g.files[t].clone()).collect();
    names.sort();
    names
}

#[test]
fn modules_are_followed_and_declarations_are_not_imports() {
    let g = graph(&[
        ("lib.rs", "mod a;\n#[path = \"arch/x/mod.rs\"]\npub mod arch;\n"),
        ("a.rs", "pub mod b;\n"),
        ("a/b.rs", ""),
        ("arch/x/mod.rs", "mod cpu;\n"),
        ("arch/x/cpu.rs", ""),
    ]);
    let mut files = g.files.clone();
    files.sort();
    assert_eq!(files, ["a.rs", "a/b.rs", "arch/x/cpu.rs", "arch/x/mod.rs", "lib.rs"]);
    assert_eq!(g.edge_count(), 0);
}

#[test]
fn crate_super_self_child_and_alias_paths_are_imports() {
    let g = graph(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
        ("a/mod.rs", "mod inner;\nfn f() { inner::go(); }\n"),
        ("a/inner.rs", "use super::super::b;\nfn g() { b::deep::h(); }\n"),
        ("b/mod.rs", "pub mod deep;\n"),
        ("b/deep.rs", "use crate::{c::{self, X as Y}};\nfn h() { self::h2(); }\n"),
        ("c.rs", "pub struct X;\n"),
    ]);
    assert_eq!(imports(&g, "a/mod.rs"), ["a/inner.rs"]);
    assert_eq!(imports(&g, "a/inner.rs"), ["b/deep.rs", "b/mod.rs"]);
    assert_eq!(imports(&g, "b/deep.rs"), ["c.rs"]);
    assert!(g.circles().is_empty());
}

#[test]
fn comments_strings_and_foreign_paths_add_nothing() {
    let g = graph(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        (
            "a.rs",
            "// crate::b::x\n/* crate::b */\nconst S: &str = \"crate::b::y\";\nconst R: &str = r#\"b::z\"#;\n\
             fn f<'a>(x: &'a u8) -> char { let _ = core::mem::size_of::<u8>(); '\"' }\n",
        ),
        ("b.rs", ""),
    ]);
    assert!(imports(&g, "a.rs").is_empty());
}

#[test]
fn exported_macros_belong_to_their_file() {
    let g = graph(&[
        ("lib.rs", "mod console;\nmod user;\n"),
        ("console.rs", "#[macro_export]\nmacro_rules! say { () => {} }\n"),
        ("user.rs", "use crate::say;\nfn f() { say!(); }\n"),
    ]);
    assert_eq!(imports(&g, "user.rs"), ["console.rs"]);
}

#[test]
fn a_circle_is_reported_with_every_file_in_it() {
    let g = graph(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n"),
        ("a.rs", "use crate::b::f;\n"),
        ("b.rs", "fn f() { crate::c::g() }\n"),
        ("c.rs", "use super::a;\n"),
        ("d.rs", "use crate::a;\n"),
    ]);
    let circles = g.circles();
    assert_eq!(circles.len(), 1);
    let names: Vec<&str> = circles[0].iter().map(|&f| g.files[f].as_str()).collect();
    assert_eq!(names, ["a.rs", "b.rs", "c.rs"]);
}

#[test]
fn super_inside_an_inline_module_is_its_own_file() {
    let g = graph(&[("lib.rs", "mod a;\nmod b;\n"), ("a.rs", "mod tests { use super::*; }\n"), ("b.rs", "")]);
    assert!(imports(&g, "a.rs").is_empty());
}
