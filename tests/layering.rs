//! The architecture, checked: which module may know which library, where
//! ARNs are spelt, that no two top-level modules depend on each other (in
//! any cycle), and that the SQLite and PostgreSQL migrations stay in step.
//! Reads the source; test code (`#[cfg(test)]` onwards, `*tests.rs`) is exempt.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// Every `.rs` file under `src/`, with its production code: comments and
/// test modules dropped.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new(SRC), &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| !n.to_string_lossy().ends_with("tests.rs")))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let production = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: Vec<&str> = production
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .map(|l| l.split(" // ").next().unwrap_or_default())
                .collect();
            (p.strip_prefix(SRC).unwrap().to_path_buf(), code.join("\n"))
        })
        .collect()
}

/// The top-level module a file belongs to (`web`, `store`, `clock`, ...).
fn module_of(path: &Path) -> String {
    let first = path.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

#[test]
fn each_library_is_known_by_its_module_only() {
    let rules: [(&str, &[&str]); 6] = [
        ("actix_web", &["web"]),
        ("reqwest", &["client", "fetch"]),
        ("actix_http", &["web"]),
        ("sqlx", &["store"]),
        ("ldap3", &["directory"]),
        ("samael", &["saml", "idp"]),
    ];
    let mut misplaced = Vec::new();
    for (path, code) in sources() {
        for (library, allowed) in rules {
            if code.contains(&format!("{library}::")) && !allowed.contains(&module_of(&path).as_str()) {
                misplaced.push(format!("{} uses {library}", path.display()));
            }
        }
    }
    assert!(misplaced.is_empty(), "{misplaced:#?}");
}

#[test]
fn arns_are_spelt_in_domain_only() {
    let outside: Vec<String> = sources()
        .into_iter()
        .filter(|(path, code)| module_of(path) != "domain" && code.contains("arn:aws:"))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(outside.is_empty(), "build and parse ARNs with domain::Arn: {outside:#?}");
}

/// The names a file reaches through `prefix` (`crate::` or `super::`):
/// `prefix x` and `prefix {x, y::z}` give `x` and `y`.
fn paths_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices(prefix) {
        let rest = &code[i + prefix.len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group.split('}').next().unwrap_or_default().split(',').collect(),
            None => vec![rest],
        };
        for name in names {
            let name: String = name.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn top_level_modules_form_no_cycle() {
    let files = sources();
    let modules: BTreeSet<String> =
        files.iter().map(|(p, _)| module_of(p)).filter(|m| m != "lib" && m != "main").collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, code) in &files {
        let from = module_of(path);
        if !modules.contains(&from) {
            continue;
        }
        let to: Vec<String> =
            paths_after(code, "crate::").into_iter().filter(|m| *m != from && modules.contains(m)).collect();
        graph.entry(from).or_default().extend(to);
    }
    // A module on a cycle reaches itself.
    let reaches = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&str> =
            graph.get(start).map(|s| s.iter().map(String::as_str).collect()).unwrap_or_default();
        while let Some(m) = todo.pop() {
            if seen.insert(m.to_owned()) {
                todo.extend(graph.get(m).into_iter().flatten().map(String::as_str));
            }
        }
        seen
    };
    let cyclic: Vec<(&String, Vec<&String>)> = graph
        .keys()
        .filter(|m| reaches(m).contains(*m))
        .map(|m| (m, graph[m].iter().filter(|n| reaches(n).contains(m)).collect()))
        .collect();
    assert!(cyclic.is_empty(), "modules on a cycle (and the next step back): {cyclic:#?}");
}

#[test]
fn the_sqlite_and_postgres_migrations_stay_in_step() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let names = |dialect: &str| -> BTreeSet<String> {
        std::fs::read_dir(root.join(dialect))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names("sqlite"), names("postgres"), "every migration exists for both databases");
    // The one spelling the two dialects need differently.
    let dialects = [("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")];
    for name in names("sqlite") {
        let mut sqlite = std::fs::read_to_string(root.join("sqlite").join(&name)).unwrap();
        let postgres = std::fs::read_to_string(root.join("postgres").join(&name)).unwrap();
        for (lite, pg) in dialects {
            sqlite = sqlite.replace(lite, pg);
        }
        assert_eq!(sqlite, postgres, "{name} differs beyond the dialects' spellings");
    }
}

/// Within each folder, no two files depend on each other through `super::`
/// (one flow split across two handler files was how such cycles arose).
#[test]
fn sibling_files_form_no_cycle() {
    let mut by_folder: BTreeMap<PathBuf, Vec<(String, String)>> = BTreeMap::new();
    for (path, code) in sources() {
        let (Some(folder), Some(stem)) = (path.parent(), path.file_stem()) else { continue };
        let stem = stem.to_string_lossy().into_owned();
        if stem != "mod" {
            by_folder.entry(folder.to_path_buf()).or_default().push((stem, code));
        }
    }
    let mut cycles = Vec::new();
    for (folder, files) in by_folder {
        let names: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        let uses: BTreeMap<&str, BTreeSet<String>> = files
            .iter()
            .map(|(n, code)| {
                let refs =
                    paths_after(code, "super::").into_iter().filter(|r| names.contains(r.as_str()) && r != n);
                (n.as_str(), refs.collect())
            })
            .collect();
        // A file on a cycle reaches itself.
        for start in uses.keys() {
            let mut seen = BTreeSet::new();
            let mut todo: Vec<&str> = uses[start].iter().map(String::as_str).collect();
            while let Some(f) = todo.pop() {
                if seen.insert(f) {
                    todo.extend(uses.get(f).into_iter().flatten().map(String::as_str));
                }
            }
            if seen.contains(start) {
                cycles.push(format!("{}: {start} (uses {:?})", folder.display(), uses[start]));
            }
        }
    }
    assert!(cycles.is_empty(), "sibling files that use each other: {cycles:#?}");
}
