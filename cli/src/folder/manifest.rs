//! A folder's manifest (docs/protocol.md, "Folders"): what a sender writes, and every rule a
//! receiver checks on the whole of it before it writes a byte. A manifest that passes becomes
//! a [`Plan`]: where each file's bytes are in the body and what it is called here.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// Largest manifest (`n`), in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 8 << 20;
/// Most entries (files and empty folders) in one folder item.
pub const MAX_ENTRIES: usize = 100_000;
/// Most components in a path.
pub const MAX_DEPTH: usize = 32;
/// Longest component, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 255;
/// The body starts with `u32be(n)`.
pub const LENGTH_BYTES: u64 = 4;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Manifest {
    pub entries: Vec<Entry>,
}

/// A file (`size`) or an empty folder (`dir: true`); `mtime` in ms since the epoch.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Entry {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dir: bool,
    pub mtime: u64,
}

/// Why a folder item is refused; nothing of it has been written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn refuse<T>(why: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal(why.into()))
}

/// One file of the plan: its path here (`/`-separated, checked), where its bytes start in
/// the body, how many there are, and its modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub path: String,
    pub offset: u64,
    pub size: u64,
    pub mtime: u64,
}

/// A checked manifest: the files in body order, the empty folders, and where the files'
/// bytes begin.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub files: Vec<PlannedFile>,
    pub dirs: Vec<(String, u64)>,
    pub contents_start: u64,
}

/// `n` from the body's first four bytes, refused when it is above [`MAX_MANIFEST_BYTES`] or
/// leaves no room in a body of `body_size` bytes.
pub fn manifest_len(first: [u8; 4], body_size: u64) -> Result<u64, Refusal> {
    let n = u64::from(u32::from_be_bytes(first));
    if n > MAX_MANIFEST_BYTES {
        return refuse(format!("its manifest is {n} bytes, above 8 MiB"));
    }
    if LENGTH_BYTES + n > body_size {
        return refuse("its manifest is longer than the folder");
    }
    Ok(n)
}

/// Whether one path component may be written anywhere: not empty, `.` or `..`; no NUL,
/// control character, `\` or `:`; not a Windows device name; not ending in a dot or a space;
/// at most 255 bytes.
pub fn check_component(c: &str) -> Result<(), Refusal> {
    if c.is_empty() || c == "." || c == ".." {
        return refuse(format!(
            "a path has an empty, \".\" or \"..\" component ({c:?})"
        ));
    }
    if c.len() > MAX_COMPONENT_BYTES {
        return refuse("a path component is longer than 255 bytes");
    }
    if c.chars()
        .any(|ch| ch.is_control() || ch == '\\' || ch == ':')
    {
        return refuse(format!(
            "{c:?} holds a control character, a backslash or a colon"
        ));
    }
    if c.ends_with(['.', ' ']) {
        return refuse(format!("{c:?} ends with a dot or a space"));
    }
    if is_device_name(c) {
        return refuse(format!("{c:?} is a device name"));
    }
    Ok(())
}

/// `CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9`, `LPT0`–`LPT9`, in any case, with or without an
/// extension (Windows opens the device for `con.txt` too).
fn is_device_name(c: &str) -> bool {
    let stem = c.split('.').next().unwrap_or_default().to_ascii_uppercase();
    match stem.as_bytes() {
        b"CON" | b"PRN" | b"AUX" | b"NUL" => true,
        [b'C', b'O', b'M', d] | [b'L', b'P', b'T', d] => d.is_ascii_digit(),
        _ => false,
    }
}

/// A relative path of 1 to 32 checked components separated by `/`.
pub fn check_path(path: &str) -> Result<(), Refusal> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() > MAX_DEPTH {
        return refuse(format!("{path:?} is deeper than 32 folders"));
    }
    parts.into_iter().try_for_each(check_component)
}

/// `name`, or `stem (n).ext` for n ≥ 1 (the last component only).
fn numbered(path: &str, n: u32) -> String {
    let (dir, name) = match path.rsplit_once('/') {
        Some((dir, name)) => (format!("{dir}/"), name),
        None => (String::new(), path),
    };
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{dir}{stem} ({n}).{ext}"),
        _ => format!("{dir}{name} ({n})"),
    }
}

/// Checks a whole manifest of a body of `body_size` bytes announced with `files` entries,
/// and plans where everything goes. Nothing is written before this passes.
pub fn plan(manifest: &[u8], body_size: u64, files: u64) -> Result<Plan, Refusal> {
    let parsed: Manifest = match serde_json::from_slice(manifest) {
        Ok(m) => m,
        Err(e) => return refuse(format!("its manifest is not valid: {e}")),
    };
    let entries = parsed.entries;
    if entries.len() > MAX_ENTRIES {
        return refuse(format!("{} entries, above 100,000", entries.len()));
    }
    if entries.len() as u64 != files {
        return refuse("its manifest does not have the announced number of entries");
    }
    let contents_start = LENGTH_BYTES + manifest.len() as u64;
    let mut total = contents_start;
    let mut file_paths = HashSet::new();
    let mut dir_paths = HashSet::new();
    for e in &entries {
        check_path(&e.path)?;
        match (e.dir, e.size) {
            (true, None) => {}
            (false, Some(size)) => {
                total = match total.checked_add(size) {
                    Some(t) => t,
                    None => return refuse("its sizes add up past what a folder can hold"),
                };
                file_paths.insert(e.path.as_str());
            }
            _ => return refuse(format!("{:?} is neither a file nor a folder", e.path)),
        }
        let mut prefix = e.path.as_str();
        while let Some((parent, _)) = prefix.rsplit_once('/') {
            dir_paths.insert(parent);
            prefix = parent;
        }
        if e.dir {
            dir_paths.insert(e.path.as_str());
        }
    }
    if total != body_size {
        return refuse("its size is not the manifest's and the files' together");
    }
    if let Some(both) = file_paths.iter().find(|p| dir_paths.contains(*p)) {
        return refuse(format!("{both:?} is a file and also a folder"));
    }
    let taken = dir_paths.iter().map(|p| p.to_lowercase()).collect();
    Ok(assign(entries, contents_start, taken))
}

/// Gives every entry its name here: a path that differs from an earlier one only in case (or
/// not at all) is kept too, as `name (1).ext`, so that no file overwrites another.
/// `taken` starts with every folder's path in lower case.
fn assign(entries: Vec<Entry>, contents_start: u64, mut taken: HashSet<String>) -> Plan {
    let mut plan = Plan {
        contents_start,
        ..Plan::default()
    };
    let mut offset = contents_start;
    for e in entries {
        let Some(size) = e.size else {
            // An empty folder: also a prefix of itself, so already taken; listed once.
            if !plan.dirs.iter().any(|(p, _)| *p == e.path) {
                plan.dirs.push((e.path, e.mtime));
            }
            continue;
        };
        let mut path = e.path.clone();
        let mut n = 0;
        while !taken.insert(path.to_lowercase()) {
            n += 1;
            path = numbered(&e.path, n);
        }
        plan.files.push(PlannedFile {
            path,
            offset,
            size,
            mtime: e.mtime,
        });
        offset += size;
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A manifest of `entries` and the body size it needs for those file sizes.
    fn manifest(entries: serde_json::Value) -> (Vec<u8>, u64, u64) {
        let m = serde_json::to_vec(&json!({ "entries": entries })).unwrap();
        let files: u64 = entries
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["size"].as_u64().unwrap_or(0))
            .sum();
        let count = entries.as_array().unwrap().len() as u64;
        let size = LENGTH_BYTES + m.len() as u64 + files;
        (m, size, count)
    }

    fn refused(entries: serde_json::Value) -> String {
        let (m, size, count) = manifest(entries);
        plan(&m, size, count).unwrap_err().0
    }

    fn file(path: &str) -> serde_json::Value {
        json!({"path": path, "size": 1, "mtime": 0})
    }

    #[test]
    fn a_good_manifest_plans_offsets_in_body_order() {
        let (m, size, count) = manifest(json!([
            {"path": "trip/a.jpg", "size": 10, "mtime": 5},
            {"path": "trip/empty", "dir": true, "mtime": 6},
            {"path": ".hidden", "size": 0, "mtime": 7},
            {"path": "notes.txt", "size": 3, "mtime": 8},
        ]));
        let p = plan(&m, size, count).unwrap();
        let start = LENGTH_BYTES + m.len() as u64;
        assert_eq!(p.contents_start, start);
        let got: Vec<(&str, u64, u64)> = p
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.offset, f.size))
            .collect();
        assert_eq!(
            got,
            [
                ("trip/a.jpg", start, 10),
                (".hidden", start + 10, 0),
                ("notes.txt", start + 10, 3)
            ]
        );
        assert_eq!(p.dirs, [("trip/empty".to_string(), 6)]);
    }

    #[test]
    fn the_manifest_length_is_capped_and_must_fit() {
        assert_eq!(manifest_len(16u32.to_be_bytes(), 20), Ok(16));
        assert!(manifest_len(17u32.to_be_bytes(), 20).is_err());
        assert!(manifest_len(((8 << 20) + 1u32).to_be_bytes(), u64::MAX).is_err());
        assert_eq!(
            manifest_len((8u32 << 20).to_be_bytes(), 9 << 20),
            Ok(8 << 20)
        );
    }

    #[test]
    fn more_than_100000_entries_are_refused() {
        let many: Vec<_> = (0..=MAX_ENTRIES)
            .map(|i| json!({"path": format!("f{i}"), "size": 0, "mtime": 0}))
            .collect();
        assert!(refused(json!(many)).contains("100,000"));
    }

    #[test]
    fn the_size_must_be_the_manifest_and_the_files() {
        let (m, size, count) = manifest(json!([file("a")]));
        assert!(plan(&m, size + 1, count).is_err());
        assert!(plan(&m, size - 1, count).is_err());
        assert!(plan(&m, size, count + 1).is_err(), "announced entries");
        let m = serde_json::to_vec(&json!({"entries": [
            {"path": "a", "size": u64::MAX, "mtime": 0}, file("b"),
        ]}))
        .unwrap();
        assert!(plan(&m, u64::MAX, 2).unwrap_err().0.contains("add up"));
    }

    #[test]
    fn paths_are_relative_with_1_to_32_components_of_1_to_255_bytes() {
        assert!(refused(json!([file("/etc/passwd")])).contains("empty"));
        assert!(refused(json!([file("")])).contains("empty"));
        assert!(refused(json!([file("a//b")])).contains("empty"));
        assert!(refused(json!([file("a/")])).contains("empty"));
        let deep = vec!["d"; 33].join("/");
        assert!(refused(json!([file(&deep)])).contains("deeper"));
        let ok = vec!["d"; 32].join("/");
        let (m, size, count) = manifest(json!([file(&ok)]));
        assert!(plan(&m, size, count).is_ok());
        assert!(refused(json!([file(&"x".repeat(256))])).contains("255"));
        let (m, size, count) = manifest(json!([file(&"é".repeat(127))]));
        assert!(plan(&m, size, count).is_ok(), "254 bytes");
    }

    #[test]
    fn dot_and_dot_dot_are_refused() {
        assert!(refused(json!([file("../x")])).contains(".."));
        assert!(refused(json!([file("a/../../x")])).contains(".."));
        assert!(refused(json!([file("./x")])).contains("\".\""));
    }

    #[test]
    fn nul_control_characters_backslashes_and_colons_are_refused() {
        for bad in [
            "a\0b",
            "tab\there",
            "del\u{7f}",
            "nl\n",
            "..\\..\\x",
            "C:x",
            "a:b",
        ] {
            assert!(
                refused(json!([file(bad)])).contains("control character"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn device_names_are_refused_in_any_case_with_or_without_an_extension() {
        for bad in [
            "CON",
            "con",
            "Prn.txt",
            "aux.tar.gz",
            "NUL",
            "COM0",
            "com9.log",
            "LPT1",
            "lpt0",
        ] {
            assert!(
                refused(json!([file(&format!("dir/{bad}"))])).contains("device"),
                "{bad}"
            );
        }
        for fine in ["CONSOLE", "COM10", "LPT", "icon.png", "nullable", "COMA"] {
            let (m, size, count) = manifest(json!([file(fine)]));
            assert!(plan(&m, size, count).is_ok(), "{fine}");
        }
    }

    #[test]
    fn a_trailing_dot_or_space_is_refused() {
        assert!(refused(json!([file("name.")])).contains("ends with"));
        assert!(refused(json!([file("dir /x")])).contains("ends with"));
    }

    #[test]
    fn a_path_that_is_a_file_and_a_folder_is_refused() {
        assert!(refused(json!([file("a"), file("a/b")])).contains("file and also a folder"));
        assert!(refused(json!([file("a/b"), file("a")])).contains("file and also a folder"));
        let empty_dir = json!({"path": "x", "dir": true, "mtime": 0});
        assert!(refused(json!([empty_dir, file("x")])).contains("file and also a folder"));
    }

    #[test]
    fn entries_must_be_a_file_or_a_folder() {
        let both = json!({"path": "x", "dir": true, "size": 1, "mtime": 0});
        assert!(refused(json!([both])).contains("neither"));
        let neither = json!({"path": "x", "mtime": 0});
        assert!(refused(json!([neither])).contains("neither"));
        let (_, size, _) = manifest(json!([]));
        assert!(plan(b"{\"entries\": 3}", size, 0).is_err());
        assert!(plan(b"\xff", size, 0).is_err());
        let negative = br#"{"entries":[{"path":"x","size":1,"mtime":-1}]}"#;
        assert!(plan(negative, 4 + negative.len() as u64 + 1, 1).is_err());
    }

    #[test]
    fn paths_differing_only_in_case_are_both_kept() {
        let (m, size, count) = manifest(json!([
            file("Photos/IMG.jpg"),
            file("photos/img.jpg"),
            file("Photos/img.jpg"),
            file("README"),
            file("readme"),
        ]));
        let p = plan(&m, size, count).unwrap();
        let paths: Vec<&str> = p.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Photos/IMG.jpg",
                "photos/img (1).jpg",
                "Photos/img (2).jpg",
                "README",
                "readme (1)"
            ]
        );
    }

    #[test]
    fn an_empty_folder_listed_twice_is_made_once() {
        let d = json!({"path": "e", "dir": true, "mtime": 1});
        let (m, size, count) = manifest(json!([d.clone(), d]));
        assert_eq!(plan(&m, size, count).unwrap().dirs.len(), 1);
    }
}
