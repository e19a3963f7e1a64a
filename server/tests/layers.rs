//! The library's layers (docs/architecture.md): each top-level module
//! imports only modules of lower layers, so nothing below imports HTTP (or
//! the command line, which lives in the binary), modules of one layer are
//! independent of each other, and no modules import each other in a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The layers, lowest first; docs/architecture.md draws the same stack.
const LAYERS: &[&[&str]] = &[
    &["atomic", "cores", "random", "progress"],
    &["package"],
    &["import", "inference", "dataset", "landscapes"],
    &["runs"],
    &["http"],
    &["client"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level modules lib.rs declares.
fn declared() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect()
}

/// Every library source file with its module path (`inference/queue.rs` →
/// [inference, queue]; `package/mod.rs` → [package]).
fn modules() -> BTreeMap<Vec<String>, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            let mut module = prefix.to_vec();
            if path.is_dir() {
                module.push(name);
                walk(&path, &module, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                if name != "mod" {
                    module.push(name);
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // Tests may reach anywhere; the layers are about the code.
                let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
                out.insert(module, code);
            }
        }
    }
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(src()).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        // The binary (main.rs and the command line in cli/) sits on top.
        if name == "main" || name == "cli" || name == "lib" {
            continue;
        }
        if path.is_dir() {
            walk(&path, &[name], &mut out);
        } else {
            out.insert(
                vec![name],
                std::fs::read_to_string(&path).unwrap_or_default(),
            );
        }
    }
    out
}

/// The module paths `code` refers to through `crate::` or `super::`.
fn references(module: &[String], is_mod_rs: bool, code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let ident = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|p| {
                p.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|p| {
                !p.is_empty() && p.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            })
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        found.push(ident(&code[i + "crate::".len()..]));
    }
    // `super` of a file is its parent module; of a mod.rs, the one above.
    let parent: Vec<String> = if is_mod_rs {
        module[..module.len().saturating_sub(1)].to_vec()
    } else {
        module[..module.len() - 1].to_vec()
    };
    for (i, _) in code.match_indices("super::") {
        if code[..i].ends_with("::") {
            continue;
        }
        let mut path = parent.clone();
        path.extend(ident(&code[i + "super::".len()..]));
        found.push(path);
    }
    found
}

/// The longest prefix of `path` that is a module of the library.
fn resolve(path: &[String], known: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| known.contains(p))
}

fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules = modules();
    let known: BTreeSet<Vec<String>> = modules.keys().cloned().collect();
    let mut edges = BTreeMap::new();
    for (module, code) in &modules {
        let is_mod_rs = src().join(module.join("/")).join("mod.rs").is_file();
        let targets: BTreeSet<Vec<String>> = references(module, is_mod_rs, code)
            .iter()
            .filter_map(|r| resolve(r, &known))
            // A module's own namespace (its ancestors) is not a dependency.
            .filter(|t| !module.starts_with(t))
            .collect();
        edges.insert(module.clone(), targets);
    }
    edges
}

#[test]
fn every_module_of_the_library_has_a_layer() {
    let layered: BTreeSet<String> = LAYERS
        .iter()
        .flat_map(|l| l.iter())
        .map(|m| m.to_string())
        .collect();
    assert_eq!(declared(), layered, "lib.rs's modules and the layers differ: place new modules in LAYERS and docs/architecture.md");
}

#[test]
fn modules_import_only_lower_layers() {
    let mut wrong = Vec::new();
    for (module, targets) in graph() {
        let own = rank(&module[0]).unwrap_or_else(|| panic!("{module:?} has no layer"));
        for t in targets {
            if t[0] != module[0] && rank(&t[0]).unwrap() >= own {
                wrong.push(format!("{} imports {}", module.join("::"), t.join("::")));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers: {wrong:#?}");
}

#[test]
fn no_modules_import_each_other_in_a_cycle() {
    let edges = graph();
    // Depth-first search; a module met again while on the stack closes a cycle.
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    let names: Vec<String> = stack[from..]
                        .iter()
                        .chain(std::iter::once(next))
                        .map(|n| n.join("::"))
                        .collect();
                    cycles.push(names.join(" → "));
                }
                Some(_) => {}
                None => visit(next, edges, state, stack, cycles),
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
    }
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for node in edges.keys() {
        if !state.contains_key(node) {
            visit(node, &edges, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

#[test]
fn the_check_sees_imports_and_would_catch_an_inverted_one() {
    let edges = graph();
    let queue = edges
        .get(&vec!["inference".to_string(), "queue".to_string()])
        .expect("inference::queue is a module");
    assert!(
        queue.contains(&vec!["inference".to_string(), "pipeline".to_string()]),
        "the queue imports the pipeline: {queue:?}"
    );
    let http = edges
        .get(&vec!["http".to_string(), "synthesis".to_string()])
        .expect("http::synthesis is a module");
    assert!(http.iter().any(|t| t[0] == "inference"), "{http:?}");
    // The rule refuses the inverse edges, and edges within a layer.
    let allowed = |from: &str, to: &str| rank(to).unwrap() < rank(from).unwrap();
    assert!(allowed("http", "inference") && !allowed("inference", "http"));
    assert!(!allowed("import", "inference") && !allowed("inference", "import"));
}

#[test]
fn no_library_source_file_is_over_700_lines() {
    let mut long = Vec::new();
    fn walk(dir: &Path, long: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, long);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let lines = std::fs::read_to_string(&path).unwrap().lines().count();
                if lines > 700 {
                    long.push(format!("{} ({lines} lines)", path.display()));
                }
            }
        }
    }
    walk(&src(), &mut long);
    assert!(long.is_empty(), "split these: {long:?}");
}

/// Every source file of the crate (library, command line, binary) with its
/// path under src/ and its code before any `#[cfg(test)]`.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
                let name = path.strip_prefix(src()).unwrap().display().to_string();
                out.push((name, code));
            }
        }
    }
    let mut out = Vec::new();
    walk(&src(), &mut out);
    out.sort();
    out
}

/// The pipeline's steps that only the `Synthesizer` takes in order.
const STEPS: &[&str] = &["prepare", "render"];

/// Where `code` calls one of the pipeline's `STEPS`: through a path that
/// ends in `pipeline::`, or by a bare name it imported from the pipeline
/// (under any alias). Method calls (`.prepare(`) and definitions are other
/// functions.
fn pipeline_step_calls(code: &str) -> Vec<String> {
    let mut imported: Vec<(String, String)> = Vec::new();
    for statement in code.split(';') {
        let statement = statement.trim();
        let Some(used) = statement
            .strip_prefix("use ")
            .or_else(|| statement.strip_prefix("pub use "))
        else {
            continue;
        };
        let Some(at) = used.find("pipeline::") else {
            continue;
        };
        let names = used[at + "pipeline::".len()..].trim_matches(|c| c == '{' || c == '}');
        for name in names.split(',') {
            let mut words = name.split_whitespace();
            let (Some(step), alias) = (words.next(), words.nth(1)) else {
                continue;
            };
            if STEPS.contains(&step) {
                imported.push((step.to_string(), alias.unwrap_or(step).to_string()));
            }
        }
    }
    let mut calls = Vec::new();
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    for (i, _) in code.match_indices('(') {
        let start = code[..i]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(0, |(p, c)| p + c.len_utf8());
        let name = &code[start..i];
        if name.is_empty() || (start > 0 && is_ident(bytes[start - 1])) {
            continue;
        }
        let before = code[..start].trim_end();
        if before.ends_with('.') || before.ends_with("fn") {
            continue;
        }
        let through_pipeline = STEPS.contains(&name) && before.ends_with("pipeline::");
        let by_import = !before.ends_with("::") && imported.iter().any(|(_, alias)| alias == name);
        if through_pipeline || by_import {
            calls.push(name.to_string());
        }
    }
    calls
}

#[test]
fn only_the_synthesizer_takes_the_pipelines_steps() {
    let allowed = ["inference/synthesizer.rs", "inference/pipeline.rs"];
    let mut wrong = Vec::new();
    for (file, code) in sources() {
        if allowed.contains(&file.as_str()) {
            continue;
        }
        for call in pipeline_step_calls(&code) {
            wrong.push(format!("{file} calls pipeline::{call}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "call the model's Synthesizer instead: {wrong:#?}"
    );
    // The queue's submit methods are visible to `inference` alone, and in
    // it only the synthesizer calls them.
    for (file, code) in sources() {
        let submits = code.contains(".submit(") || code.contains(".submit_waiting(");
        if file.starts_with("inference/") && file != "inference/synthesizer.rs" {
            assert!(!submits, "{file} queues work itself");
        }
    }
}

#[test]
fn the_step_check_would_catch_a_caller() {
    let direct = "fn f() { let p = pipeline::prepare(&card, &r, limits, c)?; }";
    assert_eq!(pipeline_step_calls(direct), ["prepare"]);
    let aliased =
        "use crate::inference::pipeline::{self, render as finish};\nfn f() { finish(&out, &f); }";
    assert_eq!(pipeline_step_calls(aliased), ["finish"]);
    let full = "fn f() { crate::inference::pipeline::render(&o, &f) }";
    assert_eq!(pipeline_step_calls(full), ["render"]);
    let method = "fn prepare(&self) {} fn g() { synthesizer.prepare(&r); other::render(1); }";
    assert!(pipeline_step_calls(method).is_empty());
}

#[test]
fn no_clap_below_the_command_line() {
    let wrong: Vec<String> = sources()
        .into_iter()
        .filter(|(file, _)| !file.starts_with("cli/") && file != "main.rs")
        .filter(|(_, code)| code.contains("clap::") || code.contains("use clap"))
        .map(|(file, _)| file)
        .collect();
    assert!(
        wrong.is_empty(),
        "the command line's parser leaks into the library: {wrong:?}"
    );
}

/// The second type argument of each `Result<…>` in `code` that is `String`.
fn string_results(code: &str) -> usize {
    let mut found = 0;
    for (i, _) in code.match_indices("Result<") {
        let rest = &code[i + "Result<".len()..];
        let (mut depth, mut comma, mut end) = (0i32, None, None);
        for (j, c) in rest.char_indices() {
            match c {
                '<' | '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                '>' if depth == 0 => {
                    end = Some(j);
                    break;
                }
                '>' => depth -= 1,
                ',' if depth == 0 => comma = Some(j),
                _ => {}
            }
        }
        if let (Some(c), Some(e)) = (comma, end) {
            if rest[c + 1..e].trim() == "String" {
                found += 1;
            }
        }
    }
    found
}

#[test]
fn errors_are_typed_outside_the_command_line() {
    assert_eq!(
        string_results("fn f() -> Result<Vec<(u8, u8)>, String> {}"),
        1
    );
    assert_eq!(string_results("fn f() -> Result<String, Error> {}"), 0);
    let wrong: Vec<String> = sources()
        .into_iter()
        .filter(|(file, _)| !file.starts_with("cli/") && file != "main.rs")
        .filter(|(_, code)| string_results(code) > 0)
        .map(|(file, code)| format!("{file} ({})", string_results(&code)))
        .collect();
    assert!(wrong.is_empty(), "Result<_, String> left: {wrong:?}");
}
