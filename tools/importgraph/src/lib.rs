//! The file-level import graph of a Rust crate's sources, and the circles in it.
//!
//! Starting from the crate root, the module tree is followed through `mod NAME;`
//! declarations (`NAME.rs` or `NAME/mod.rs`, or a `#[path = "..."]` attribute; inline
//! `mod NAME { ... }` blocks belong to their file). Every path in a file that names
//! something in the crate adds an edge from that file to the file of the deepest
//! module the path reaches: paths that start with `crate`, `super` or `self`, with a
//! child module's name, or with a name a `use` of such a path bound in the file. A
//! `#[macro_export]` macro named through `crate::NAME` belongs to the file that
//! defines it. Declaring a child module (`mod x;`) is not an import. Comments and
//! string literals are skipped, so a path in a doc comment adds nothing.
//!
//! A circle is a strongly connected set of two or more files (Tarjan's algorithm).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The files of one crate and which of them import which.
pub struct Graph {
    /// Each file, relative to the crate root's folder (`board/mod.rs`).
    pub files: Vec<String>,
    /// `edges[f]`: the files that file `f` imports.
    pub edges: Vec<BTreeSet<usize>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Sep,
    Punct(char),
}

/// Splits Rust source into identifiers, string literals, `::` and punctuation,
/// dropping comments, character literals, lifetimes and numbers.
fn tokens(src: &str) -> Vec<Tok> {
    let s: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |k: usize| s.get(k).copied().unwrap_or('\0');
    while i < s.len() {
        let c = s[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if s[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' || (c == 'b' && at(i + 1) == '"') {
            i += if c == 'b' { 2 } else { 1 };
            let mut text = String::new();
            while i < s.len() && s[i] != '"' {
                if s[i] == '\\' {
                    i += 1;
                }
                if i < s.len() {
                    text.push(s[i]);
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Str(text));
        } else if let Some(skip) = raw_string_start(&s, i) {
            // r"..." or r#"..."#, with or without a b prefix.
            let hashes = skip - 1 - usize::from(c == 'b') - 1;
            i += skip;
            let mut text = String::new();
            while i < s.len() {
                if s[i] == '"' && (1..=hashes).all(|h| at(i + h) == '#') {
                    i += 1 + hashes;
                    break;
                }
                text.push(s[i]);
                i += 1;
            }
            out.push(Tok::Str(text));
        } else if c == '\'' || (c == 'b' && at(i + 1) == '\'') {
            if c == 'b' {
                i += 1;
            }
            if at(i + 1) == '\\' {
                // An escaped character literal: up to the closing quote.
                i += 2;
                while i < s.len() && s[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // A lifetime or label.
                i += 1;
                while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(s[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_' || s[i] == '.') {
                if s[i] == '.' && at(i + 1) == '.' {
                    break;
                }
                i += 1;
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Tok::Sep);
            i += 2;
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

/// If a raw string starts at `i`, the characters up to and including its opening quote.
fn raw_string_start(s: &[char], i: usize) -> Option<usize> {
    let mut k = i;
    if s.get(k) == Some(&'b') {
        k += 1;
    }
    if s.get(k) != Some(&'r') {
        return None;
    }
    k += 1;
    while s.get(k) == Some(&'#') {
        k += 1;
    }
    (s.get(k) == Some(&'"')).then_some(k + 1 - i)
}

fn ident(t: Option<&Tok>) -> Option<&str> {
    match t {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

/// Parses the path (or `use` tree) starting at `tokens[i]`, an identifier. Returns each
/// leaf path with the name it binds (the last segment, or an `as` alias), and the index
/// after the path.
fn path_tree(t: &[Tok], mut i: usize, prefix: &[String]) -> (Vec<(Vec<String>, String)>, usize) {
    let mut segs = prefix.to_vec();
    let mut leaves = Vec::new();
    let Some(first) = ident(t.get(i)) else { return (leaves, i) };
    segs.push(first.to_string());
    i += 1;
    loop {
        if t.get(i) != Some(&Tok::Sep) {
            break;
        }
        match t.get(i + 1) {
            Some(Tok::Ident(s)) => {
                segs.push(s.clone());
                i += 2;
            }
            Some(Tok::Punct('{')) => {
                i += 2;
                while i < t.len() && t[i] != Tok::Punct('}') {
                    if t[i] == Tok::Punct(',') {
                        i += 1;
                        continue;
                    }
                    if ident(t.get(i)).is_none() {
                        // `*` or anything else inside the braces binds nothing we follow.
                        i += 1;
                        continue;
                    }
                    let (sub, next) = path_tree(t, i, &segs);
                    leaves.extend(sub);
                    i = next;
                }
                return (leaves, i + 1);
            }
            _ => break, // `::*`, `::<` (turbofish)
        }
    }
    if segs.last().map(String::as_str) == Some("self") {
        segs.pop();
    }
    let mut name = segs.last().cloned().unwrap_or_default();
    if ident(t.get(i)) == Some("as") {
        if let Some(alias) = ident(t.get(i + 1)) {
            name = alias.to_string();
            i += 2;
        }
    }
    leaves.push((segs, name));
    (leaves, i)
}

struct Source {
    tokens: Vec<Tok>,
    /// The module each token is in (the file's module, or an inline one inside it).
    module_at: Vec<usize>,
}

struct Builder {
    files: Vec<String>,
    sources: Vec<Source>,
    /// Module paths (from the crate root) and the file each is in.
    modules: Vec<(Vec<String>, usize)>,
    by_path: HashMap<Vec<String>, usize>,
    macros: HashMap<String, usize>,
}

impl Builder {
    fn add_module(&mut self, path: Vec<String>, file: usize) -> usize {
        let m = self.modules.len();
        self.by_path.insert(path.clone(), m);
        self.modules.push((path, file));
        m
    }

    /// Reads `file` (module `module`) and, recursively, the files of its `mod` items.
    fn load(
        &mut self,
        read: &dyn Fn(&Path) -> Option<String>,
        root_dir: &Path,
        file: &Path,
        module: Vec<String>,
        owns_dir: bool,
    ) -> Result<(), String> {
        let src = read(file).ok_or_else(|| format!("cannot read {}", file.display()))?;
        let name = file.strip_prefix(root_dir).unwrap_or(file).to_string_lossy().into_owned();
        let f = self.files.len();
        self.files.push(name);
        let toks = tokens(&src);
        let file_module = self.add_module(module.clone(), f);
        // Child module files live beside a mod.rs/lib.rs, else in a folder named after
        // the file.
        let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
        let child_dir = if owns_dir { dir.clone() } else { dir.join(file.file_stem().unwrap_or_default()) };
        let mut module_at = Vec::with_capacity(toks.len());
        // Inline modules: (module index, brace depth inside it).
        let mut inline: Vec<(usize, usize)> = Vec::new();
        let mut depth = 0usize;
        let mut path_attr: Option<String> = None;
        let mut macro_export = false;
        let mut children = Vec::new();
        for (i, tok) in toks.iter().enumerate() {
            module_at.push(inline.last().map_or(file_module, |&(m, _)| m));
            match tok {
                Tok::Punct('{') => depth += 1,
                Tok::Punct('}') => {
                    if inline.last().is_some_and(|&(_, d)| d == depth) {
                        inline.pop();
                    }
                    depth = depth.saturating_sub(1);
                }
                Tok::Ident(s) if s == "path" && toks.get(i + 1) == Some(&Tok::Punct('=')) => {
                    if let Some(Tok::Str(p)) = toks.get(i + 2) {
                        path_attr = Some(p.clone());
                    }
                }
                Tok::Ident(s) if s == "macro_export" => macro_export = true,
                Tok::Ident(s) if s == "macro_rules" && toks.get(i + 1) == Some(&Tok::Punct('!')) => {
                    if let (true, Some(name)) = (macro_export, ident(toks.get(i + 2))) {
                        self.macros.insert(name.to_string(), f);
                    }
                    macro_export = false;
                }
                Tok::Ident(s) if s == "mod" => {
                    let Some(name) = ident(toks.get(i + 1)) else { continue };
                    let mut path = self.modules[module_at[i]].0.clone();
                    path.push(name.to_string());
                    match toks.get(i + 2) {
                        Some(Tok::Punct(';')) if inline.is_empty() => {
                            children.push((path, path_attr.take()));
                        }
                        Some(Tok::Punct('{')) => {
                            let m = self.add_module(path, f);
                            inline.push((m, depth + 1));
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        self.sources.push(Source { tokens: toks, module_at });
        for (path, attr) in children {
            let name = path.last().cloned().unwrap_or_default();
            let (child, owns): (PathBuf, bool) = match attr {
                Some(p) => {
                    let p = dir.join(p);
                    let owns = p.file_name().is_some_and(|n| n == "mod.rs");
                    (p, owns)
                }
                None => {
                    let flat = child_dir.join(format!("{name}.rs"));
                    if read(&flat).is_some() {
                        (flat, false)
                    } else {
                        (child_dir.join(&name).join("mod.rs"), true)
                    }
                }
            };
            self.load(read, root_dir, &child, path, owns)?;
        }
        Ok(())
    }

    /// The absolute module path `path` (as written in module `m`) names, if it is in
    /// the crate.
    fn absolute(&self, m: usize, path: &[String], aliases: &HashMap<String, Vec<String>>) -> Option<Vec<String>> {
        let here = &self.modules[m].0;
        let first = path.first()?;
        let mut rest = &path[1..];
        let base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => here.clone(),
            "super" => {
                let mut b = here.clone();
                b.pop()?;
                while rest.first().map(String::as_str) == Some("super") {
                    b.pop()?;
                    rest = &rest[1..];
                }
                b
            }
            name => {
                if let Some(target) = aliases.get(name) {
                    target.clone()
                } else {
                    let mut child = here.clone();
                    child.push(name.to_string());
                    if !self.by_path.contains_key(&child) {
                        return None;
                    }
                    child
                }
            }
        };
        let mut abs = base;
        abs.extend(rest.iter().cloned());
        Some(abs)
    }

    /// The file that holds what the absolute path `abs` names.
    fn file_of(&self, abs: &[String]) -> usize {
        let mut best = self.by_path.get(&Vec::new()).copied().unwrap_or(0);
        for n in 1..=abs.len() {
            match self.by_path.get(&abs[..n]) {
                Some(&m) => best = m,
                None => {
                    if n == 1 {
                        if let Some(&f) = self.macros.get(&abs[0]) {
                            return f;
                        }
                    }
                    break;
                }
            }
        }
        self.modules[best].1
    }

    fn edges(&self) -> Vec<BTreeSet<usize>> {
        let mut edges = vec![BTreeSet::new(); self.files.len()];
        for (f, src) in self.sources.iter().enumerate() {
            let t = &src.tokens;
            // Names bound by `use` items of crate paths, by module.
            let mut aliases: HashMap<String, Vec<String>> = HashMap::new();
            for (i, tok) in t.iter().enumerate() {
                if *tok == Tok::Ident("use".into()) && ident(t.get(i + 1)).is_some() {
                    let m = src.module_at[i];
                    for (path, name) in path_tree(t, i + 1, &[]).0 {
                        if let Some(abs) = self.absolute(m, &path, &HashMap::new()) {
                            aliases.insert(name, abs);
                        }
                    }
                }
            }
            let mut i = 0;
            while i < t.len() {
                let starts_path =
                    ident(t.get(i)).is_some() && t.get(i + 1) == Some(&Tok::Sep) && (i == 0 || t[i - 1] != Tok::Sep);
                if !starts_path {
                    i += 1;
                    continue;
                }
                let (leaves, next) = path_tree(t, i, &[]);
                for (path, _) in leaves {
                    if let Some(abs) = self.absolute(src.module_at[i], &path, &aliases) {
                        let target = self.file_of(&abs);
                        if target != f {
                            edges[f].insert(target);
                        }
                    }
                }
                i = next.max(i + 1);
            }
        }
        edges
    }
}

impl Graph {
    /// Builds the graph of the crate whose root file is `root`, reading from disk.
    pub fn load(root: &Path) -> Result<Graph, String> {
        Graph::build(root, &|p: &Path| std::fs::read_to_string(p).ok())
    }

    /// Builds the graph of the crate rooted at `root`, reading each file through `read`.
    pub fn build(root: &Path, read: &dyn Fn(&Path) -> Option<String>) -> Result<Graph, String> {
        let mut b = Builder {
            files: Vec::new(),
            sources: Vec::new(),
            modules: Vec::new(),
            by_path: HashMap::new(),
            macros: HashMap::new(),
        };
        let root_dir = root.parent().unwrap_or(Path::new("")).to_path_buf();
        b.load(read, &root_dir, root, Vec::new(), true)?;
        let edges = b.edges();
        Ok(Graph { files: b.files, edges })
    }

    /// Number of imports (edges).
    pub fn edge_count(&self) -> usize {
        self.edges.iter().map(BTreeSet::len).sum()
    }

    /// The index of the file named `name` (relative to the root's folder).
    pub fn file(&self, name: &str) -> Option<usize> {
        self.files.iter().position(|f| f == name)
    }

    /// Every set of two or more files that import each other in a circle, each sorted.
    pub fn circles(&self) -> Vec<Vec<usize>> {
        struct Tarjan<'a> {
            edges: &'a [BTreeSet<usize>],
            index: Vec<Option<usize>>,
            low: Vec<usize>,
            on_stack: Vec<bool>,
            stack: Vec<usize>,
            next: usize,
            out: Vec<Vec<usize>>,
        }
        impl Tarjan<'_> {
            fn visit(&mut self, v: usize) {
                self.index[v] = Some(self.next);
                self.low[v] = self.next;
                self.next += 1;
                self.stack.push(v);
                self.on_stack[v] = true;
                for &w in self.edges[v].iter() {
                    match self.index[w] {
                        None => {
                            self.visit(w);
                            self.low[v] = self.low[v].min(self.low[w]);
                        }
                        Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                        Some(_) => {}
                    }
                }
                if Some(self.low[v]) == self.index[v] {
                    let mut scc = Vec::new();
                    while let Some(w) = self.stack.pop() {
                        self.on_stack[w] = false;
                        scc.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if scc.len() > 1 {
                        scc.sort_unstable();
                        self.out.push(scc);
                    }
                }
            }
        }
        let n = self.files.len();
        let mut t = Tarjan {
            edges: &self.edges,
            index: vec![None; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            stack: Vec::new(),
            next: 0,
            out: Vec::new(),
        };
        for v in 0..n {
            if t.index[v].is_none() {
                t.visit(v);
            }
        }
        t.out.sort();
        t.out
    }

    /// The graph in Graphviz dot form.
    pub fn dot(&self) -> String {
        let mut s = String::from("digraph imports {\n");
        for (f, to) in self.edges.iter().enumerate() {
            for &t in to {
                s.push_str(&format!("  \"{}\" -> \"{}\";\n", self.files[f], self.files[t]));
            }
        }
        s.push_str("}\n");
        s
    }
}
