//! Hashes the web app this release ships (the workspace's `assets/`, which the server embeds)
//! for `sharethings-cli verify`: every file's SHA-256, and the canonical manifest the web
//! build writes as `assets/bundle.json` (docs/cli.md, "Checking the served web app").

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The manifest itself is not listed in the manifest.
const MANIFEST: &str = "bundle.json";

fn files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a readable folder entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).expect("under the root");
            let rel = rel
                .to_str()
                .expect("asset paths are UTF-8")
                .replace('\\', "/");
            if rel != MANIFEST {
                out.push((rel, path));
            }
        }
    }
}

fn main() {
    // Read at run time, not compiled in: the cross builds share one cargo directory between
    // clones, and a build script compiled in another clone must look at this one's assets.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("../assets");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut list = Vec::new();
    files(&root, &root, &mut list);
    list.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut table = String::from("/// `(path, SHA-256 hex)` of every file of the web app this release ships, sorted.\npub const FILES: &[(&str, &str)] = &[\n");
    let mut manifest = String::from("{\"files\":{");
    for (i, (rel, path)) in list.iter().enumerate() {
        println!("cargo::rerun-if-changed={}", path.display());
        let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let hash: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        writeln!(table, "    ({rel:?}, {hash:?}),").unwrap();
        if i > 0 {
            manifest.push(',');
        }
        write!(manifest, "{}:\"{hash}\"", serde_json_string(rel)).unwrap();
    }
    manifest.push_str("}}");
    table.push_str("];\n");
    // The web build writes the manifest; until a release ships one, `verify` checks the
    // files alone (and the bundle hash is that of the canonical manifest built here).
    let committed = fs::read_to_string(root.join(MANIFEST)).ok();
    if committed.as_ref().is_some_and(|c| *c != manifest) {
        println!("cargo::warning=assets/bundle.json does not list assets/ as it is: rebuild web/");
    }
    let shipped = committed.unwrap_or(manifest);
    writeln!(table, "/// This release's manifest (`bundle.json`): its SHA-256 is the bundle hash.\npub const MANIFEST: &str = {shipped:?};").unwrap();
    writeln!(table, "/// Whether `assets/` ships `bundle.json` (then the server must serve it).\npub const SHIPS_MANIFEST: bool = {};", root.join(MANIFEST).exists()).unwrap();
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bundle.rs");
    fs::write(out, table).expect("OUT_DIR is writable");
}

/// A path as a JSON string (paths are plain ASCII from the build, but be exact anyway).
fn serde_json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
