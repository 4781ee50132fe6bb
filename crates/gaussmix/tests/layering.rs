//! The module tree has no import cycles, and the top-level modules form layers: each
//! uses only the modules before it in [`LAYERS`] (the data path of `src/lib.rs`).
//!
//! Run alone with `cargo test -p gaussmix --test layering`. It reads the sources: every
//! `crate::a::b` and `super::b` path outside comments and `#[cfg(test)]` code is an edge
//! from the file's module to the module it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules, lowest first.
const LAYERS: &[&str] = &[
    "error",
    "cpu",
    "linalg",
    "parallel",
    "simd",
    "data",
    "covariance",
    "options",
    "params",
    "stats",
    "kernels",
    "fit",
    "model",
    "blocks",
    "select",
    "linfa_traits",
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src is readable") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `kernels/products.rs` → `["kernels", "products"]`; `kernels/mod.rs` → `["kernels"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
        parts.pop();
    }
    parts
}

/// The code of a file without comments and test modules.
fn code(text: &str) -> String {
    let cut = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..cut]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths a piece of code names, resolved against module `me`.
fn references(code: &str, me: &[String]) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", me[..me.len().saturating_sub(1)].to_vec()),
    ] {
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            // Not the tail of a longer path (`$crate::`, `a::crate::`).
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
                continue;
            }
            // `crate::{a::b, c}`: each item of the group is a path of its own.
            if let Some(group) = rest.strip_prefix('{') {
                let inner = &group[..group.find('}').unwrap_or(group.len())];
                for item in inner.split(',') {
                    let mut path = base.clone();
                    path.extend(
                        item.trim()
                            .split("::")
                            .map(|seg| seg.trim().to_string())
                            .take_while(|seg| {
                                !seg.is_empty()
                                    && seg.chars().all(|c| {
                                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
                                    })
                            }),
                    );
                    if path.len() > base.len() {
                        out.insert(path);
                    }
                }
                continue;
            }
            let mut path = base.clone();
            for seg in rest.split("::") {
                let name: String = seg
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if name.is_empty() || name.len() != seg.len() && !seg.starts_with(&name) {
                    break;
                }
                path.push(name.clone());
                if name.len() != seg.len() {
                    break;
                }
            }
            if !path.is_empty() {
                out.insert(path);
            }
        }
    }
    out
}

#[test]
fn modules_form_layers_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    all.sort();
    let modules: BTreeSet<Vec<String>> = all.iter().map(|f| module_of(&src, f)).collect();
    // The longest known module that prefixes a path (a path may end in an item).
    let resolve = |p: &[String]| -> Option<Vec<String>> {
        (1..=p.len())
            .rev()
            .map(|n| p[..n].to_vec())
            .find(|m| modules.contains(m))
    };
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut wrong_layer = Vec::new();
    for f in &all {
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let me = module_of(&src, f);
        let text = std::fs::read_to_string(f).expect("readable source");
        for r in references(&code(&text), &me) {
            let Some(target) = resolve(&r) else { continue };
            if target.is_empty() || target == me || me.starts_with(&target) {
                continue;
            }
            if let (Some(a), Some(b)) = (me.first(), target.first()) {
                if a != b {
                    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
                    match (rank(a), rank(b)) {
                        (Some(x), Some(y)) if y < x => {}
                        _ => wrong_layer.push(format!(
                            "{} uses {} ({})",
                            me.join("::"),
                            target.join("::"),
                            f.strip_prefix(&src).unwrap().display()
                        )),
                    }
                }
            }
            edges.entry(me.clone()).or_default().insert(target);
        }
    }
    assert!(
        wrong_layer.is_empty(),
        "modules using a module of the same or a higher layer (LAYERS in tests/layering.rs):\n{}",
        wrong_layer.join("\n")
    );
    // No cycles between any two modules (files) either, inside a layer included.
    let mut state: BTreeMap<Vec<String>, u8> = BTreeMap::new();
    fn visit(
        m: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(2) => return None,
            Some(1) => {
                let i = stack.iter().position(|s| s == m).unwrap_or(0);
                return Some(stack[i..].iter().map(|s| s.join("::")).collect());
            }
            _ => {}
        }
        state.insert(m.clone(), 1);
        stack.push(m.clone());
        for t in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(t, edges, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(m.clone(), 2);
        None
    }
    for m in &modules {
        let mut stack = Vec::new();
        if let Some(cycle) = visit(m, &edges, &mut state, &mut stack) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
    // The check sees the tree: every layer it names exists, and it found edges.
    assert!(edges.len() > 10, "only {} modules with edges", edges.len());
}

#[test]
fn the_reference_scanner_sees_paths() {
    let me = vec!["kernels".to_string(), "products".to_string()];
    let r = references(
        "use crate::stats::SuffStats;\nuse super::rowwise::{a, b};\n$crate::parallel::x!()\nuse crate::{fit::pass, Data};",
        &me,
    );
    assert!(
        r.contains(&vec!["stats".to_string(), "SuffStats".to_string()])
            || r.contains(&vec!["stats".to_string()])
    );
    assert!(r
        .iter()
        .any(|p| p.starts_with(&["kernels".to_string(), "rowwise".to_string()])));
    assert!(!r.iter().any(|p| p.first().is_some_and(|f| f == "parallel")));
    assert!(r.contains(&vec!["fit".to_string(), "pass".to_string()]));
    assert_eq!(
        code("a // crate::x\n// crate::y\n#[cfg(test)]\ncrate::z"),
        "a "
    );
}
