//! A folder to send: walks it (never following a link), writes its manifest, and reads the
//! body `u32be(n) || manifest || contents` at any offset, opening each file only when its
//! bytes are about to go, so a tree of any size costs the manifest's memory and no more.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::manifest::{self, Entry, Manifest, MAX_DEPTH, MAX_ENTRIES, MAX_MANIFEST_BYTES};
use crate::exit::Failure;

pub struct FolderSource {
    /// `u32be(n) || manifest`.
    header: Vec<u8>,
    /// Each file's place on disk and where its bytes start in the body, in body order.
    files: Vec<(PathBuf, u64, u64)>,
    size: u64,
    entries: u64,
}

/// What the walk left out, and why; the sender says each.
pub type Skipped = Vec<String>;

impl FolderSource {
    /// Walks `root`. Links, sockets, devices and names a receiver would refuse are skipped
    /// (and listed); more than the format allows is an error before anything is sent.
    pub fn scan(root: &Path) -> Result<(FolderSource, Skipped), Failure> {
        let mut walk = Walk::default();
        walk.dir(root, "", 0)
            .map_err(|e| Failure::Local(format!("{}: {e}", root.display())))?;
        if walk.entries.len() > MAX_ENTRIES {
            return Err(Failure::Local(format!(
                "{}: {} files and folders, above the 100,000 a folder item may hold",
                root.display(),
                walk.entries.len()
            )));
        }
        let entries = walk.entries.len() as u64;
        let manifest = serde_json::to_vec(&Manifest {
            entries: walk.entries,
        })
        .expect("a manifest serialises");
        if manifest.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(Failure::Local(format!(
                "{}: its list of files is above 8 MiB",
                root.display()
            )));
        }
        let mut header = (manifest.len() as u32).to_be_bytes().to_vec();
        header.extend_from_slice(&manifest);
        let mut offset = header.len() as u64;
        let files = walk
            .files
            .into_iter()
            .map(|(path, size)| {
                let at = offset;
                offset += size;
                (path, at, size)
            })
            .collect();
        let source = FolderSource {
            header,
            files,
            size: offset,
            entries,
        };
        Ok((source, walk.skipped))
    }

    /// The body's length (the item's `size`).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Files and empty folders (the item's `files`).
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Fills `buf` from the body at `offset`.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let end = offset + buf.len() as u64;
        let header = self.header.len() as u64;
        if offset < header {
            let n = (end.min(header) - offset) as usize;
            buf[..n].copy_from_slice(&self.header[offset as usize..][..n]);
        }
        let mut at = offset.max(header);
        let mut i = self.files.partition_point(|(_, o, s)| o + s <= at);
        while at < end && i < self.files.len() {
            let (path, start, size) = &self.files[i];
            let stop = end.min(start + size);
            if stop > at {
                let piece = &mut buf[(at - offset) as usize..(stop - offset) as usize];
                File::open(path)?.read_exact_at(piece, at - start)?;
                at = stop;
            }
            i += 1;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Walk {
    entries: Vec<Entry>,
    files: Vec<(PathBuf, u64)>,
    skipped: Skipped,
}

impl Walk {
    /// Adds what `dir` holds under the relative path `rel`; names in byte order, so two sends
    /// of one tree give one manifest.
    fn dir(&mut self, dir: &Path, rel: &str, depth: usize) -> io::Result<()> {
        let mut names: Vec<_> = fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let shown = format!("{rel}{}", name.to_string_lossy());
            let Some(name) = name.to_str() else {
                self.skipped.push(format!("{shown}: its name is not UTF-8"));
                continue;
            };
            if let Err(why) = manifest::check_component(name) {
                self.skipped
                    .push(format!("{shown}: a receiver would refuse it ({why})"));
                continue;
            }
            if depth + 1 > MAX_DEPTH {
                self.skipped
                    .push(format!("{shown}: deeper than 32 folders"));
                continue;
            }
            let meta = fs::symlink_metadata(&path)?;
            let kind = meta.file_type();
            let relpath = format!("{rel}{name}");
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as u64);
            if kind.is_symlink() {
                self.skipped.push(format!("{shown}: a link"));
            } else if kind.is_dir() {
                let before = self.entries.len();
                self.dir(&path, &format!("{relpath}/"), depth + 1)?;
                if self.entries.len() == before {
                    self.entries.push(Entry {
                        path: relpath,
                        size: None,
                        dir: true,
                        mtime,
                    });
                }
            } else if kind.is_file() {
                self.entries.push(Entry {
                    path: relpath,
                    size: Some(meta.len()),
                    dir: false,
                    mtime,
                });
                self.files.push((path, meta.len()));
            } else {
                self.skipped
                    .push(format!("{shown}: not a file or a folder"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::folder::manifest::plan;

    #[test]
    fn a_tree_is_walked_links_skipped_and_read_back_at_any_offset() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("b/deep")).unwrap();
        fs::create_dir(r.join("empty")).unwrap();
        fs::write(r.join("a.txt"), b"hello").unwrap();
        fs::write(r.join("b/deep/c.bin"), vec![7u8; 3000]).unwrap();
        fs::write(r.join("b/zero"), b"").unwrap();
        fs::write(r.join("bad:name"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", r.join("link")).unwrap();
        std::os::unix::fs::symlink(r.join("b"), r.join("dirlink")).unwrap();

        let (src, skipped) = FolderSource::scan(r).unwrap();
        assert_eq!(skipped.len(), 3, "{skipped:?}");
        assert!(skipped.iter().any(|s| s.starts_with("link: a link")));
        assert!(skipped.iter().any(|s| s.starts_with("dirlink: a link")));
        assert!(skipped.iter().any(|s| s.starts_with("bad:name")));
        assert_eq!(src.entries(), 4);

        let mut body = vec![0u8; src.size() as usize];
        src.read_at(&mut body, 0).unwrap();
        let n = u32::from_be_bytes(body[..4].try_into().unwrap()) as usize;
        let p = plan(&body[4..4 + n], src.size(), src.entries()).unwrap();
        let paths: Vec<&str> = p.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["a.txt", "b/deep/c.bin", "b/zero"]);
        assert_eq!(
            p.dirs.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
            ["empty"]
        );
        assert_eq!(&body[p.files[0].offset as usize..][..5], b"hello");
        assert!(body[p.files[1].offset as usize..][..3000]
            .iter()
            .all(|&b| b == 7));

        // Reads that start and end anywhere, across the header and file boundaries.
        for (start, len) in [(0, 3), (2, n + 6), (4 + n + 4, 10), (body.len() - 1, 1)] {
            let mut part = vec![0u8; len];
            src.read_at(&mut part, start as u64).unwrap();
            assert_eq!(part, body[start..start + len], "{start}+{len}");
        }
    }
}
