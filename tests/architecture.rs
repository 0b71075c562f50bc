//! The module graph must follow ARCHITECTURE.md's "Allowed imports" table; `unsafe` lives only in
//! sys; smol/async-io stay in the async layers. Change the table, this test and the code together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// module → allowed targets (`daemon::entry` means only that submodule).
fn allowed_table() -> BTreeMap<String, BTreeSet<String>> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .unwrap();
    let start = doc
        .find("Allowed imports")
        .expect("ARCHITECTURE.md has an 'Allowed imports' section");
    let block = &doc[start..];
    let block = &block[block.find("```").unwrap() + 3..];
    let block = &block[..block.find("```").unwrap()];
    let mut table = BTreeMap::new();
    for line in block.lines().filter(|l| l.contains('→')) {
        let (lhs, rhs) = line.split_once('→').unwrap();
        let targets: BTreeSet<String> = rhs
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        for m in lhs.split(',') {
            table.insert(m.trim().to_string(), targets.clone());
        }
    }
    table.entry("base".into()).or_default();
    table
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Top-level module of a file under src/ (None for lib.rs/main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    if rel.components().count() == 1 {
        let stem = first.trim_end_matches(".rs").to_string();
        return if stem == "lib" || stem == "main" {
            None
        } else {
            Some(stem)
        };
    }
    Some(first)
}

/// Every `crate::a::b` path in the code (comments stripped), as (a, b).
fn crate_edges(code: &str) -> Vec<(String, String)> {
    let mut edges = Vec::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap();
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + 7..];
            let ident = |s: &str| {
                s.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            };
            let a = ident(after);
            assert!(
                !after.starts_with('{'),
                "use explicit `crate::module::...` paths, not `crate::{{...}}`: {line}"
            );
            let after_a = &after[a.len()..];
            let b = after_a.strip_prefix("::").map(ident).unwrap_or_default();
            edges.push((a, b));
            rest = &after[1..];
        }
    }
    edges
}

#[test]
fn imports_follow_architecture_table() {
    let table = allowed_table();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for f in &files {
        let Some(module) = module_of(&src, f) else {
            continue;
        };
        let allowed = table
            .get(&module)
            .unwrap_or_else(|| panic!("module {module} is not in ARCHITECTURE.md's table"));
        let code = std::fs::read_to_string(f).unwrap();
        for (a, b) in crate_edges(&code) {
            if a == module {
                continue;
            }
            let ok = allowed.contains(&a) || allowed.contains(&format!("{a}::{b}"));
            if !ok {
                violations.push(format!(
                    "{}: crate::{a}::{b} ({module} → {a} is not allowed)",
                    f.display()
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "import graph violates ARCHITECTURE.md:\n{}",
        violations.join("\n")
    );
}

#[test]
fn unsafe_only_in_sys() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for f in &files {
        if module_of(&src, f).as_deref() == Some("sys") {
            continue;
        }
        for (n, line) in std::fs::read_to_string(f).unwrap().lines().enumerate() {
            let code = line.split("//").next().unwrap();
            if code.contains("unsafe ") || code.contains("unsafe{") {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "unsafe outside src/sys:\n{}",
        found.join("\n")
    );
}

#[test]
fn async_runtime_stays_in_async_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let async_ok = ["http", "api", "daemon", "image", "supervisor", "cli"];
    let mut found = Vec::new();
    for f in &files {
        let m = module_of(&src, f).unwrap_or_default();
        if async_ok.contains(&m.as_str()) {
            continue;
        }
        let code = std::fs::read_to_string(f).unwrap();
        if code.contains("smol::") || code.contains("async_io::") {
            found.push(f.display().to_string());
        }
    }
    assert!(
        found.is_empty(),
        "smol/async-io used outside http/api/daemon/image/supervisor: {found:?}"
    );
}

#[test]
fn edge_parser_sees_nested_paths() {
    let e = crate_edges(
        "use crate::base::Error; // crate::sys::x\nlet x = crate::daemon::entry::run();",
    );
    assert_eq!(
        e,
        [
            ("base".to_string(), "Error".to_string()),
            ("daemon".to_string(), "entry".to_string())
        ]
    );
}
