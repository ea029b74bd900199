//! Files as they arrive: a name made safe from whatever the sender called it, a hidden
//! `.part` file written chunk by chunk at its offset (so arrival order does not matter and
//! the item is never whole in memory), and a final name that never replaces an existing file
//! unless asked to (`name (1).ext` instead).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Longest file name we produce, in bytes (most file systems allow 255).
const MAX_NAME_BYTES: usize = 200;
/// Numbered alternatives tried before giving up on a free name.
pub const MAX_ALTERNATIVES: u32 = 1000;

/// A name that stays inside the target folder and is visible: no separators, no control
/// characters, no leading dots, nothing empty, not too long.
pub fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| match c {
            c if c.is_control() => '_',
            ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c => c,
        })
        .collect();
    let trimmed = cleaned
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' ']);
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > MAX_NAME_BYTES {
            break;
        }
        out.push(c);
    }
    if out.is_empty() {
        "file".into()
    } else {
        out
    }
}

/// `name`, or `stem (n).ext` for n ≥ 1.
fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.into();
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem} ({n}).{ext}"),
        _ => format!("{name} ({n})"),
    }
}

/// `.NAME.TAG.part`: hidden, named after the item, and unique, so that a part left by a
/// process that was killed never stands in the way of receiving the item again.
pub fn part_name(name: &str, id: &str) -> String {
    let tag: String = id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    let mut salt = [0u8; 4];
    getrandom::fill(&mut salt).expect("the operating system has a random source");
    format!(
        ".{name}.{tag}-{}.part",
        data_encoding::HEXLOWER.encode(&salt)
    )
}

/// A file being received into `dir`.
pub struct PartFile {
    dir: PathBuf,
    name: String,
    part: PathBuf,
    file: File,
}

impl PartFile {
    pub fn create(dir: &Path, name: &str, id: &str) -> io::Result<PartFile> {
        let name = safe_name(name);
        let part = dir.join(part_name(&name, id));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)?;
        Ok(PartFile {
            dir: dir.to_path_buf(),
            name,
            part,
            file,
        })
    }

    pub fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, offset)
    }

    /// Moves the complete file to its final name and returns it. Without `force` an existing
    /// file is never replaced: the first free `name (n).ext` is taken, atomically (a hard
    /// link fails if the name exists).
    pub fn finish(self, force: bool) -> io::Result<PathBuf> {
        self.file.sync_all()?;
        if force {
            let target = self.dir.join(&self.name);
            fs::rename(&self.part, &target)?;
            return Ok(target);
        }
        for n in 0..MAX_ALTERNATIVES {
            let target = self.dir.join(numbered(&self.name, n));
            match fs::hard_link(&self.part, &target) {
                Ok(()) => {
                    fs::remove_file(&self.part)?;
                    return Ok(target);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    self.discard();
                    return Err(e);
                }
            }
        }
        self.discard();
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free file name",
        ))
    }

    /// Removes what was received of an item that will not complete.
    pub fn discard(self) {
        let _ = fs::remove_file(&self.part);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_or_hide() {
        assert_eq!(safe_name("report.pdf"), "report.pdf");
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\Users\\x\\evil.exe"), "evil.exe");
        assert_eq!(safe_name(".bashrc"), "bashrc");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(safe_name(""), "file");
        assert_eq!(safe_name("a/"), "file");
        assert_eq!(safe_name("tab\there\u{7f}.txt"), "tab_here_.txt");
        assert_eq!(safe_name("what?.txt"), "what_.txt");
        assert_eq!(safe_name("Café ☕.png"), "Café ☕.png");
        let long = "é".repeat(300);
        assert!(safe_name(&long).len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn never_overwrites_without_force() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "old").unwrap();
        fs::write(dir.path().join("a (1).txt"), "old").unwrap();
        let p = PartFile::create(dir.path(), "a.txt", "id1").unwrap();
        p.write_at(3, b"def").unwrap();
        p.write_at(0, b"abc").unwrap();
        let saved = p.finish(false).unwrap();
        assert_eq!(saved, dir.path().join("a (2).txt"));
        assert_eq!(fs::read(&saved).unwrap(), b"abcdef");
        assert_eq!(fs::read(dir.path().join("a.txt")).unwrap(), b"old");

        let p = PartFile::create(dir.path(), "a.txt", "id2").unwrap();
        p.write_at(0, b"new").unwrap();
        assert_eq!(p.finish(true).unwrap(), dir.path().join("a.txt"));
        assert_eq!(fs::read(dir.path().join("a.txt")).unwrap(), b"new");

        let p = PartFile::create(dir.path(), "gone", "id3").unwrap();
        p.discard();
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 3, "no part files left behind");
    }

    #[test]
    fn numbered_keeps_the_extension() {
        assert_eq!(numbered("a.tar.gz", 1), "a.tar (1).gz");
        assert_eq!(numbered("README", 2), "README (2)");
    }
}
