//! The few file operations the disk inbox needs, as a trait, so that its store is tested
//! without a disk (and with a disk that fills up or fails on command), and [`RealFiles`], which
//! does them under one directory with owner-only permissions.
//!
//! Files are only ever created (never replaced), appended to, read and removed: nothing is
//! rewritten in place, which is what an SD card wears least under.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// File operations relative to the inbox's directory. Names are the store's own (hex and a
/// fixed suffix), never anything a client chose.
pub trait Files {
    /// Creates directory `dir` (owner only), if it is not there.
    fn create_dir(&mut self, dir: &Path) -> io::Result<()>;
    /// Creates file `path` (owner only) holding `parts`; fails if it exists.
    fn create(&mut self, path: &Path, parts: &[&[u8]]) -> io::Result<()>;
    /// Appends `parts` to file `path`, which exists.
    fn append(&mut self, path: &Path, parts: &[&[u8]]) -> io::Result<()>;
    /// Fills `buf` from file `path` at `offset`.
    fn read_at(&self, path: &Path, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// The length of file `path`.
    fn len(&self, path: &Path) -> io::Result<u64>;
    /// The names in directory `dir`, `[]` when there is none.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    fn remove_file(&mut self, path: &Path) -> io::Result<()>;
    /// Removes directory `dir` with whatever is in it.
    fn remove_dir(&mut self, dir: &Path) -> io::Result<()>;
}

/// The inbox holds its files as a `Box<dyn Files>`.
impl<F: Files + ?Sized> Files for Box<F> {
    fn create_dir(&mut self, dir: &Path) -> io::Result<()> {
        (**self).create_dir(dir)
    }
    fn create(&mut self, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
        (**self).create(path, parts)
    }
    fn append(&mut self, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
        (**self).append(path, parts)
    }
    fn read_at(&self, path: &Path, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        (**self).read_at(path, offset, buf)
    }
    fn len(&self, path: &Path) -> io::Result<u64> {
        (**self).len(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        (**self).list(dir)
    }
    fn remove_file(&mut self, path: &Path) -> io::Result<()> {
        (**self).remove_file(path)
    }
    fn remove_dir(&mut self, dir: &Path) -> io::Result<()> {
        (**self).remove_dir(dir)
    }
}

/// The real thing, under `root`: directories 0700, files 0600.
pub struct RealFiles {
    root: PathBuf,
}

impl RealFiles {
    /// The inbox's directory `root`, created (0700) if missing and made owner-only if it was
    /// not: it holds the server key and every session's admission secret.
    pub fn open(root: &Path) -> io::Result<RealFiles> {
        DirBuilder::new().recursive(true).mode(0o700).create(root)?;
        let meta = fs::metadata(root)?;
        if meta.permissions().mode() & 0o077 != 0 {
            log::warn!("the inbox directory was open to others; making it owner-only");
            fs::set_permissions(root, fs::Permissions::from_mode(0o700))?;
        }
        Ok(RealFiles {
            root: root.to_path_buf(),
        })
    }

    fn at(&self, path: &Path) -> PathBuf {
        self.root.join(path)
    }
}

fn write_parts(mut file: File, parts: &[&[u8]]) -> io::Result<()> {
    for part in parts {
        file.write_all(part)?;
    }
    Ok(())
}

impl Files for RealFiles {
    fn create_dir(&mut self, dir: &Path) -> io::Result<()> {
        match DirBuilder::new().mode(0o700).create(self.at(dir)) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        }
    }

    fn create(&mut self, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(self.at(path))?;
        write_parts(file, parts)
    }

    fn append(&mut self, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
        let file = OpenOptions::new().append(true).open(self.at(path))?;
        write_parts(file, parts)
    }

    fn read_at(&self, path: &Path, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        File::open(self.at(path))?.read_exact_at(buf, offset)
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        Ok(fs::metadata(self.at(path))?.len())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let entries = match fs::read_dir(self.at(dir)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn remove_file(&mut self, path: &Path) -> io::Result<()> {
        fs::remove_file(self.at(path))
    }

    fn remove_dir(&mut self, dir: &Path) -> io::Result<()> {
        fs::remove_dir_all(self.at(dir))
    }
}

/// Files in memory that count every byte written where, and fail on command: the store's
/// tests use it to prove that nothing is written twice and that a full disk is survived.
/// Clones share their files, so a test can "restart" on the same disk.
#[cfg(test)]
pub mod fake {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    #[derive(Default)]
    pub struct Disk {
        pub files: BTreeMap<PathBuf, Vec<u8>>,
        pub dirs: Vec<PathBuf>,
        /// Every write: which file, at which offset, how many bytes.
        pub writes: Vec<(PathBuf, u64, usize)>,
        /// Bytes that may still be written; past them a write stores what fits and fails
        /// with `StorageFull` (ENOSPC).
        pub space: Option<usize>,
        /// Every write fails with this kind of error.
        pub failing: Option<io::ErrorKind>,
    }

    #[derive(Clone, Default)]
    pub struct FakeFiles(pub Rc<RefCell<Disk>>);

    impl Disk {
        fn write(&mut self, path: &Path, parts: &[&[u8]], create: bool) -> io::Result<()> {
            if let Some(kind) = self.failing {
                return Err(io::Error::from(kind));
            }
            let exists = self.files.contains_key(path);
            if create && exists {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            if !create && !exists {
                return Err(io::ErrorKind::NotFound.into());
            }
            let file = self.files.entry(path.to_path_buf()).or_default();
            for part in parts {
                let fits = self.space.map_or(part.len(), |s| s.min(part.len()));
                self.writes
                    .push((path.to_path_buf(), file.len() as u64, fits));
                file.extend_from_slice(&part[..fits]);
                if let Some(space) = self.space.as_mut() {
                    *space -= fits;
                }
                if fits < part.len() {
                    return Err(io::ErrorKind::StorageFull.into());
                }
            }
            Ok(())
        }

        /// Every byte offset of every file was written once at most.
        pub fn written_once(&self) -> bool {
            let mut seen: BTreeMap<&Path, Vec<(u64, u64)>> = BTreeMap::new();
            for (path, at, len) in &self.writes {
                let ranges = seen.entry(path.as_path()).or_default();
                let (start, end) = (*at, at + *len as u64);
                if ranges.iter().any(|(s, e)| start < *e && *s < end) {
                    return false;
                }
                ranges.push((start, end));
            }
            true
        }

        pub fn written_bytes(&self) -> usize {
            self.writes.iter().map(|(_, _, n)| n).sum()
        }
    }

    impl FakeFiles {
        pub fn disk(&self) -> std::cell::RefMut<'_, Disk> {
            self.0.borrow_mut()
        }
    }

    impl Files for FakeFiles {
        fn create_dir(&mut self, dir: &Path) -> io::Result<()> {
            let mut disk = self.disk();
            if let Some(kind) = disk.failing {
                return Err(io::Error::from(kind));
            }
            if !disk.dirs.iter().any(|d| d == dir) {
                disk.dirs.push(dir.to_path_buf());
            }
            Ok(())
        }

        fn create(&mut self, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
            self.disk().write(path, parts, true)
        }

        fn append(&mut self, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
            self.disk().write(path, parts, false)
        }

        fn read_at(&self, path: &Path, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            let disk = self.0.borrow();
            let file = disk.files.get(path).ok_or(io::ErrorKind::NotFound)?;
            let start = usize::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput)?;
            let bytes = file
                .get(start..start + buf.len())
                .ok_or(io::ErrorKind::UnexpectedEof)?;
            buf.copy_from_slice(bytes);
            Ok(())
        }

        fn len(&self, path: &Path) -> io::Result<u64> {
            let disk = self.0.borrow();
            Ok(disk.files.get(path).ok_or(io::ErrorKind::NotFound)?.len() as u64)
        }

        fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
            let disk = self.0.borrow();
            let mut names: Vec<String> = disk
                .files
                .keys()
                .map(|p| p.as_path())
                .chain(disk.dirs.iter().map(|d| d.as_path()))
                .filter(|p| p.parent() == Some(dir))
                .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
                .collect();
            names.sort();
            names.dedup();
            Ok(names)
        }

        fn remove_file(&mut self, path: &Path) -> io::Result<()> {
            self.disk()
                .files
                .remove(path)
                .map(|_| ())
                .ok_or(io::ErrorKind::NotFound.into())
        }

        fn remove_dir(&mut self, dir: &Path) -> io::Result<()> {
            let mut disk = self.disk();
            disk.files.retain(|p, _| !p.starts_with(dir));
            disk.dirs.retain(|d| !d.starts_with(dir));
            Ok(())
        }
    }
}
