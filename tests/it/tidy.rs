//! Tidy: the layering ARCHITECTURE.md states, checked on the source text
//! (as rust-analyzer's tidy tests do), so that it stays true.
//!
//! - `sled` and `etcd_client` are named only in `src/store/`.
//! - `tonic` (and its companion crates) and the generated types (`pb::`,
//!   `envoy::`) are named only in `src/api/` and the binaries.
//! - `axum` (the HTTP listener's stack) and `maud` (the console's markup)
//!   are named only in `src/http/`.
//! - `src/lifecycle/` uses nothing of the crate but itself (its test files
//!   may use the manual clock).
//! - No source file is longer than [`MAX_LINES`].
//!
//! Comments do not count. Both allow-lists are empty; a new entry needs a
//! reason beside it.

use std::path::{Path, PathBuf};

/// Longest source file, in lines.
const MAX_LINES: usize = 800;

/// Files outside `src/api/` and the binaries allowed to name tonic or the
/// generated types (none; a new entry needs a reason).
const TONIC_ALLOWED: &[&str] = &[];

/// Files allowed to be longer than [`MAX_LINES`] (none; a new entry needs
/// a reason).
const LONG_ALLOWED: &[&str] = &[];

/// Every `.rs` file below `dir`, as paths relative to `root`.
fn rust_files(root: &Path, dir: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.join(dir)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path.strip_prefix(root).expect("below root").to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// The lines of `text` with comments removed (line comments, doc comments,
/// and what follows `//` outside a string on a code line).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    text.lines().enumerate().filter_map(|(n, line)| {
        let mut in_string = false;
        let mut prev = ' ';
        let mut end = line.len();
        for (i, c) in line.char_indices() {
            if c == '"' && prev != '\\' {
                in_string = !in_string;
            }
            if !in_string && c == '/' && prev == '/' {
                end = i - 1;
                break;
            }
            prev = c;
        }
        let code = line[..end].trim();
        (!code.is_empty()).then(|| (n + 1, code.to_string()))
    })
}

/// Whether `code` names one of `names` as a path segment followed by more
/// (`sled::Tree`, `crate::api::pb::Kind`, `use tonic::{..}`), or a companion
/// crate of it (`tonic_health::..`).
fn names_crate(code: &str, names: &[&str]) -> bool {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .any(|word| {
            let segments: Vec<&str> = word.split("::").collect();
            let (_, heads) = segments.split_last().unwrap_or((&"", &[]));
            heads.iter().enumerate().any(|(i, segment)| {
                names.iter().any(|name| {
                    *segment == *name || (i == 0 && segment.starts_with(&format!("{name}_")))
                })
            })
        })
}

/// The rule violations under `root`, one line each.
fn violations(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let under = |path: &Path, dir: &str| path.starts_with(dir);
    let mut files = rust_files(root, "src");
    files.extend(rust_files(root, "tests"));
    files.extend(rust_files(root, "benches"));
    for path in &files {
        let text = std::fs::read_to_string(root.join(path)).expect("read source");
        let shown = path.display().to_string();
        let n_lines = text.lines().count();
        if n_lines > MAX_LINES && !LONG_ALLOWED.contains(&shown.as_str()) {
            found.push(format!("{shown}: {n_lines} lines (at most {MAX_LINES})"));
        }
        if !under(path, "src") {
            continue;
        }
        let is_test = path.file_name().is_some_and(|f| f == "tests.rs")
            || path.components().any(|c| c.as_os_str() == "tests");
        for (n, code) in code_lines(&text) {
            if !under(path, "src/store") && names_crate(&code, &["sled"]) {
                found.push(format!("{shown}:{n}: names sled outside src/store/"));
            }
            if !under(path, "src/store") && names_crate(&code, &["etcd_client"]) {
                found.push(format!("{shown}:{n}: names etcd_client outside src/store/"));
            }
            let api_side = under(path, "src/api")
                || under(path, "src/bin")
                || TONIC_ALLOWED.contains(&shown.as_str());
            if !api_side && names_crate(&code, &["tonic", "pb", "envoy"]) {
                found.push(format!(
                    "{shown}:{n}: names tonic or generated types outside src/api/"
                ));
            }
            if !under(path, "src/http") && names_crate(&code, &["axum", "maud"]) {
                found.push(format!("{shown}:{n}: names axum or maud outside src/http/"));
            }
            if under(path, "src/lifecycle")
                && !is_test
                && code.contains("crate::")
                && code
                    .split("crate::")
                    .skip(1)
                    .any(|rest| !rest.starts_with("lifecycle"))
            {
                found.push(format!(
                    "{shown}:{n}: lifecycle uses another part of the crate"
                ));
            }
        }
    }
    found
}

#[test]
fn the_layering_holds_and_files_stay_short() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = violations(root);
    assert!(found.is_empty(), "tidy:\n{}", found.join("\n"));
    // The allow-lists name only files that still need them.
    for allowed in LONG_ALLOWED {
        let text = std::fs::read_to_string(root.join(allowed)).unwrap_or_default();
        assert!(
            text.lines().count() > MAX_LINES,
            "{allowed} is short now: take it off LONG_ALLOWED"
        );
    }
}

/// Each rule catches a planted violation, and comments do not count.
#[test]
fn planted_violations_are_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "src/engine/a.rs",
        "// sled is only a word here\nuse sled::Tree;\n",
    );
    write("src/engine/b.rs", "fn f() -> tonic::Status { todo!() }\n");
    write("src/engine/c.rs", "use crate::api::pb::Kind;\n");
    write("src/lifecycle/d.rs", "use crate::store::Store;\n");
    write(
        "src/lifecycle/e.rs",
        "use crate::lifecycle::Kind; // crate::store\n",
    );
    write("src/store/f.rs", "use sled::Tree;\n");
    write("src/daemon/l.rs", "use etcd_client::Client;\n");
    write("src/store/etcd/m.rs", "use etcd_client::Client;\n");
    write(
        "src/engine/i.rs",
        "use crate::api::envoy::service::auth::v3::CheckRequest;\n",
    );
    write("src/engine/j.rs", "fn f(r: axum::Router) {}\n");
    write("src/http/k.rs", "use axum::Router;\n");
    write("src/notify/n.rs", "use maud::html;\n");
    write("src/http/console/o.rs", "use maud::html;\n");
    write("src/api/g.rs", "use tonic::Status;\n");
    write("src/h.rs", &"let x = 1;\n".repeat(MAX_LINES + 1));
    let found = violations(dir.path());
    let expect = [
        "src/engine/a.rs:2: names sled",
        "src/engine/b.rs:1: names tonic",
        "src/engine/c.rs:1: names tonic",
        "src/engine/i.rs:1: names tonic",
        "src/engine/j.rs:1: names axum",
        "src/notify/n.rs:1: names axum or maud",
        "src/daemon/l.rs:1: names etcd_client",
        "src/lifecycle/d.rs:1: lifecycle uses",
        "src/h.rs: 801 lines",
    ];
    for wanted in expect {
        assert!(
            found.iter().any(|f| f.starts_with(wanted)),
            "{wanted} not caught in {found:?}"
        );
    }
    assert_eq!(found.len(), expect.len(), "{found:?}");
}
