//! The layering README's "Architecture" section promises, checked on the source itself: no
//! file-level reference cycle in `src/`, no file over 700 lines before its `#[cfg(test)]` module,
//! and the layer rules (`aws/` knows nothing of `cli`/`commands`, `emulator/` nothing of
//! `aws`/`commands`/`cli`, `package/` and `settings/` nothing of `commands`, the kernel files are
//! leaves). A reference is any `crate::`, `super::` or `self::` path (in a `use` or in code) that
//! names an item of another file, and so is a bare path into a child module (`commands::X` in
//! lib.rs); `mod x;` is not one. A second test runs the same check on a
//! small tree with a planted cycle, a long file and a layer violation, so the check itself cannot
//! silently pass everything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Lines of non-test code a file may have.
const MAX_LINES: usize = 700;

/// `(directory or file of src/, what it must not reference)`.
const LAYER_RULES: &[(&str, &[&str])] = &[
    ("aws", &["cli", "commands"]),
    ("emulator", &["aws", "commands", "cli"]),
    ("package", &["commands"]),
    ("settings", &["commands"]),
    (
        "error.rs",
        &["aws", "commands", "cli", "emulator", "package", "settings"],
    ),
    (
        "signals.rs",
        &["aws", "commands", "cli", "emulator", "package", "settings"],
    ),
];

#[test]
fn src_has_no_cycle_no_long_file_and_keeps_its_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let problems = check(&src);
    assert!(
        problems.is_empty(),
        "the source breaks README's architecture rules:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_finds_a_planted_cycle_a_long_file_and_a_layer_violation() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |path: &str, text: &str| {
        let path = src.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    // lib.rs names a.rs through a bare path, a.rs names lib.rs through `crate::`.
    write(
        "lib.rs",
        "pub mod a;\npub mod b;\npub mod aws;\npub mod cli;\npub fn root() { let _ = a::A; }\n",
    );
    write(
        "a.rs",
        "use crate::b::B;\nuse crate::root;\npub struct A;\n",
    );
    write(
        "b.rs",
        "pub struct B;\npub(crate) fn f() { let _ = super::a::A; }\n",
    );
    write("cli.rs", "pub struct Args;\n");
    write("aws/mod.rs", "pub mod lambda;\n");
    let long = "fn x() {}\n".repeat(MAX_LINES + 1) + "#[cfg(test)]\nmod tests {}\n";
    write(
        "aws/lambda.rs",
        &(String::from("use crate::cli::Args;\n") + &long),
    );

    let problems = check(src);
    let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(has("cycle: a.rs -> b.rs -> a.rs"), "{problems:#?}");
    assert!(has("cycle: lib.rs -> a.rs -> lib.rs"), "{problems:#?}");
    assert!(has("aws/lambda.rs has 702 lines"), "{problems:#?}");
    assert!(has("aws/lambda.rs references cli.rs"), "{problems:#?}");
    assert_eq!(problems.len(), 4, "{problems:#?}");
}

/// Every broken rule in the crate rooted at `src/lib.rs`, one line each.
fn check(src: &Path) -> Vec<String> {
    let modules = module_tree(src);
    let files: BTreeSet<PathBuf> = modules.values().cloned().collect();
    let mut graph: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        let lines = text
            .lines()
            .take_while(|line| line.trim() != "#[cfg(test)]")
            .count();
        if lines > MAX_LINES {
            problems.push(format!(
                "{} has {lines} lines before its tests (at most {MAX_LINES})",
                file.display()
            ));
        }
        let references = references_of(file, &text, &modules);
        for target in &references {
            for (layer, forbidden) in LAYER_RULES {
                if in_part(file, layer) && forbidden.iter().any(|f| in_part(target, f)) {
                    problems.push(format!(
                        "{} references {} ({layer} must not use {})",
                        file.display(),
                        target.display(),
                        forbidden.join(", ")
                    ));
                }
            }
        }
        graph.insert(file.clone(), references);
    }
    problems.extend(cycles(&graph).into_iter().map(|cycle| {
        let names: Vec<String> = cycle.iter().map(|f| f.display().to_string()).collect();
        format!("cycle: {}", names.join(" -> "))
    }));
    problems
}

/// Whether `file` (relative to src/) is the part named `part`: a top-level directory
/// (`aws`), a top-level file (`cli.rs`), or the module a directory or a file holds either way.
fn in_part(file: &Path, part: &str) -> bool {
    let stem = part.trim_end_matches(".rs");
    let first = file
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first == part || first == format!("{stem}.rs") || first == stem
}

/// Module path (`["aws", "lambda"]`) → the file (relative to src/) that holds it, from `mod x;`
/// declarations starting at lib.rs; inline modules map to their file.
fn module_tree(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut modules = BTreeMap::new();
    let mut pending = vec![(Vec::<String>::new(), PathBuf::from("lib.rs"))];
    while let Some((path, file)) = pending.pop() {
        let text = std::fs::read_to_string(src.join(&file))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let syntax = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("cannot parse {}: {e}", file.display()));
        // A file's children live beside it (lib.rs, mod.rs) or in a directory named after it.
        let is_dir_owner = file.ends_with("lib.rs") || file.ends_with("mod.rs");
        let child_dir = if is_dir_owner {
            file.parent().unwrap().to_path_buf()
        } else {
            file.with_extension("")
        };
        let mut inline = Vec::new();
        collect_modules(&syntax.items, &path, &mut inline, &mut |decl, name| {
            let candidates = [
                child_dir.join(format!("{name}.rs")),
                child_dir.join(name).join("mod.rs"),
            ];
            let child = candidates
                .into_iter()
                .find(|c| src.join(c).exists())
                .unwrap_or_else(|| panic!("module {name} of {} has no file", file.display()));
            pending.push((decl, child));
        });
        for inline_path in inline {
            modules.insert(inline_path, file.clone());
        }
        modules.insert(path, file);
    }
    modules
}

/// Walks `mod` items: file modules go to `on_file`, inline ones (with their nested ones) to
/// `inline`.
fn collect_modules(
    items: &[syn::Item],
    parent: &[String],
    inline: &mut Vec<Vec<String>>,
    on_file: &mut dyn FnMut(Vec<String>, &str),
) {
    for item in items {
        if let syn::Item::Mod(module) = item {
            let name = module.ident.to_string();
            let mut path = parent.to_vec();
            path.push(name.clone());
            match &module.content {
                None => on_file(path, &name),
                Some((_, items)) => {
                    inline.push(path.clone());
                    collect_modules(items, &path, inline, on_file);
                }
            }
        }
    }
}

/// The files (other than `file` itself) that `file` names items of.
fn references_of(
    file: &Path,
    text: &str,
    modules: &BTreeMap<Vec<String>, PathBuf>,
) -> BTreeSet<PathBuf> {
    let own_module = modules
        .iter()
        .filter(|(_, f)| f.as_path() == file)
        .map(|(path, _)| path.clone())
        .min_by_key(Vec::len)
        .unwrap();
    let syntax = syn::parse_file(text).unwrap();
    let mut finder = PathFinder {
        module: own_module,
        children: modules.keys().cloned().collect(),
        found: Vec::new(),
    };
    finder.visit_file(&syntax);
    finder
        .found
        .into_iter()
        .filter_map(|absolute| {
            (0..=absolute.len())
                .rev()
                .find_map(|n| modules.get(&absolute[..n]))
                .cloned()
        })
        .filter(|target| target != file)
        .collect()
}

/// Collects the absolute module paths of every `crate::`/`super::`/`self::` path in a file,
/// tracking the inline module it is in.
struct PathFinder {
    module: Vec<String>,
    /// Every module of the crate, to tell a bare path into a child module from other paths.
    children: BTreeSet<Vec<String>>,
    found: Vec<Vec<String>>,
}

impl PathFinder {
    fn record(&mut self, segments: &[String]) {
        let Some(first) = segments.first() else {
            return;
        };
        let mut child = self.module.clone();
        child.push(first.clone());
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.module.clone(),
            "super" => self.module.clone(),
            // A bare path into a child module (`error::NotOurs` in lib.rs) names it too.
            _ if self.children.contains(&child) => self.module.clone(),
            _ => return,
        };
        let mut rest = if self.children.contains(&child) {
            segments
        } else {
            &segments[1..]
        };
        if first == "super" {
            base.pop();
        }
        while rest.first().is_some_and(|s| s == "super") {
            base.pop();
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        self.found.push(base);
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.record(&prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.record(&prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.record(&prefix.clone()),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for PathFinder {
    fn visit_item_mod(&mut self, module: &'ast syn::ItemMod) {
        self.module.push(module.ident.to_string());
        syn::visit::visit_item_mod(self, module);
        self.module.pop();
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    // `pub(crate)` and `pub(super)` say who may see an item; they name nothing.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.record(&segments);
        syn::visit::visit_path(self, path);
    }
}

/// The reference cycles of the graph, one per strongly connected component of two or more files,
/// each shown as a closed walk through the component.
fn cycles(graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut reported: BTreeSet<PathBuf> = BTreeSet::new();
    for start in graph.keys() {
        if reported.contains(start) {
            continue;
        }
        if let Some(walk) = shortest_cycle_through(graph, start) {
            reported.extend(walk.iter().cloned());
            found.push(walk);
        }
    }
    found
}

/// The shortest walk `start -> … -> start`, by breadth-first search.
fn shortest_cycle_through(
    graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    start: &PathBuf,
) -> Option<Vec<PathBuf>> {
    let mut previous: BTreeMap<&PathBuf, &PathBuf> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in graph.get(node).into_iter().flatten() {
            if next == start {
                let mut between = Vec::new();
                let mut at = node;
                while at != start {
                    between.push(at.clone());
                    at = previous[at];
                }
                between.reverse();
                let mut walk = vec![start.clone()];
                walk.extend(between);
                walk.push(start.clone());
                return Some(walk);
            }
            if !previous.contains_key(next) && next != start {
                previous.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}
