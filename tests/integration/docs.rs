//! Every repository path the docs name exists: in backticks (`src/front/machine.rs`) or as a
//! link target, from the README, `docs/` and the web client's README. A file moved or renamed
//! without its docs fails here.

use std::path::{Path, PathBuf};

/// Top-level folders and files of the repository a path may start with.
const ROOTS: [&str; 16] = [
    "src/",
    "docs/",
    "tests/",
    "web/",
    "cli/",
    "examples/",
    "cross/",
    "packaging/",
    "systemd/",
    "haproxy/",
    "fuzz/",
    "assets/",
    "protocol/",
    ".ci/",
    "Cargo.toml",
    "README.md",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The docs that name paths.
fn docs() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md"), root().join("web/README.md")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

/// What is written between backticks, and link targets `](...)`.
fn mentions(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    found.extend(
        text.split("](")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
            .map(str::to_string),
    );
    found
}

/// Where a mention may be found, if it names a repository path: relative to the repository,
/// or to the doc's folder (`web/README.md` names `src/…` of the web client); without a line
/// number, an anchor or a trailing slash.
fn places(mention: &str, doc: &Path) -> Option<[PathBuf; 2]> {
    let mention = mention.trim();
    if mention.contains(['*', '<', '>', '{', ' ', '$']) || mention.contains("://") {
        return None;
    }
    let path = mention.split(['#', ':']).next()?.trim_end_matches('/');
    if path.is_empty() {
        return None;
    }
    let folder = doc.parent()?;
    let named = ROOTS
        .iter()
        .any(|r| path.starts_with(r) || path == r.trim_end_matches('/'));
    let sibling = path.ends_with(".md") && !path.contains('/');
    (named || sibling).then(|| [root().join(path), folder.join(path)])
}

#[test]
fn every_repository_path_the_docs_name_exists() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for doc in docs() {
        let text = std::fs::read_to_string(&doc).expect("a doc");
        for mention in mentions(&text) {
            let Some(places) = places(&mention, &doc) else {
                continue;
            };
            checked += 1;
            if !places.iter().any(|p| p.exists()) {
                let name = doc
                    .strip_prefix(root())
                    .unwrap_or(&doc)
                    .display()
                    .to_string();
                missing.push(format!("{name}: {mention}"));
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} paths found: the scan is broken"
    );
    assert!(
        missing.is_empty(),
        "paths the docs name that do not exist:\n{}",
        missing.join("\n")
    );
}
