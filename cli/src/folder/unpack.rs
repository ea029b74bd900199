//! A folder as it arrives: chunks are written straight into the files they belong to, under a
//! private staging folder in `--dir`; the first chunks (the manifest) are spooled until the
//! whole manifest is there and has passed every check, and nothing of the tree exists before.
//! When the last chunk is in, files and folders get their modification times and the tree
//! takes its name beside anything already there (`trip (1)`), never inside it.

use std::collections::{BTreeSet, HashSet};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use sharethings_protocol::format::chunks::{chunk_len, CHUNK_SIZE};

use super::manifest::{self, Plan, Refusal, LENGTH_BYTES};
use crate::save::{part_name, safe_name, MAX_ALTERNATIVES};

/// Why a chunk could not be taken.
#[derive(Debug)]
pub enum UnpackError {
    Refused(Refusal),
    Io(io::Error),
}

impl From<io::Error> for UnpackError {
    fn from(e: io::Error) -> Self {
        UnpackError::Io(e)
    }
}

pub struct FolderSink {
    parent: PathBuf,
    name: String,
    /// `.NAME.ID.part/`, 0700: `spool` and, once planned, `tree/`.
    staging: PathBuf,
    size: u64,
    entries: u64,
    /// Chunks that arrived before the plan, kept in `staging/spool` at their offsets.
    spooled: BTreeSet<u64>,
    spool: Option<File>,
    plan: Option<Plan>,
}

impl FolderSink {
    pub fn create(
        parent: &Path,
        name: &str,
        id: &str,
        size: u64,
        entries: u64,
    ) -> io::Result<Self> {
        let name = safe_name(name);
        let staging = parent.join(part_name(&name, id));
        // Private while it fills, so no other user can put a link where a file will go.
        DirBuilder::new().mode(0o700).create(&staging)?;
        let spool = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(staging.join("spool"))?;
        Ok(FolderSink {
            parent: parent.to_path_buf(),
            name,
            staging,
            size,
            entries,
            spooled: BTreeSet::new(),
            spool: Some(spool),
            plan: None,
        })
    }

    fn tree(&self) -> PathBuf {
        self.staging.join("tree")
    }

    /// Chunk `index`'s plaintext, already checked against the item.
    pub fn write_chunk(&mut self, index: u64, data: &[u8]) -> Result<(), UnpackError> {
        let offset = index * CHUNK_SIZE;
        if self.plan.is_some() {
            return Ok(self.write_contents(offset, data)?);
        }
        let spool = self.spool.as_ref().expect("a spool until planned");
        spool.write_all_at(data, offset)?;
        self.spooled.insert(index);
        self.try_plan()
    }

    /// Plans as soon as the spool holds the whole manifest; then moves what the spool holds
    /// beyond it into the files and drops the spool.
    fn try_plan(&mut self) -> Result<(), UnpackError> {
        if !self.spooled.contains(&0) {
            return Ok(());
        }
        let spool = self.spool.as_ref().expect("a spool until planned");
        if self.size < LENGTH_BYTES {
            return Err(UnpackError::Refused(Refusal(
                "it is too short to be a folder".into(),
            )));
        }
        let mut first = [0u8; 4];
        spool.read_exact_at(&mut first, 0)?;
        let n = manifest::manifest_len(first, self.size).map_err(UnpackError::Refused)?;
        let end = LENGTH_BYTES + n;
        let needed = end.div_ceil(CHUNK_SIZE).max(1);
        if !(0..needed).all(|i| self.spooled.contains(&i)) {
            return Ok(());
        }
        let mut text = vec![0u8; n as usize];
        spool.read_exact_at(&mut text, LENGTH_BYTES)?;
        let plan = manifest::plan(&text, self.size, self.entries).map_err(UnpackError::Refused)?;
        drop(text);
        self.build(&plan)?;
        self.plan = Some(plan);
        let spool = self.spool.take().expect("a spool until planned");
        for &index in &self.spooled {
            let mut chunk = vec![0u8; chunk_len(index, self.size) as usize];
            spool.read_exact_at(&mut chunk, index * CHUNK_SIZE)?;
            self.write_contents(index * CHUNK_SIZE, &chunk)?;
        }
        drop(spool);
        fs::remove_file(self.staging.join("spool"))?;
        self.spooled.clear();
        Ok(())
    }

    /// Makes every folder and an empty file for every file: each must be new (create_new,
    /// create_dir), so nothing is written through a link or into something that was there.
    fn build(&self, plan: &Plan) -> io::Result<()> {
        let tree = self.tree();
        fs::create_dir(&tree)?;
        let mut made = HashSet::new();
        let mut make_dirs = |path: &str| -> io::Result<()> {
            let mut at = 0;
            for part in path.split('/') {
                at += part.len();
                let prefix = &path[..at];
                if made.insert(prefix.to_string()) {
                    fs::create_dir(tree.join(prefix))?;
                }
                at += 1;
            }
            Ok(())
        };
        for (dir, _) in &plan.dirs {
            make_dirs(dir)?;
        }
        for f in &plan.files {
            if let Some((dir, _)) = f.path.rsplit_once('/') {
                make_dirs(dir)?;
            }
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(tree.join(&f.path))?;
        }
        Ok(())
    }

    /// Writes the part of `data` (at body `offset`) that belongs to files, file by file.
    fn write_contents(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let plan = self.plan.as_ref().expect("planned");
        let end = offset + data.len() as u64;
        let mut at = offset.max(plan.contents_start);
        let mut i = plan.files.partition_point(|f| f.offset + f.size <= at);
        while at < end && i < plan.files.len() {
            let f = &plan.files[i];
            let stop = end.min(f.offset + f.size);
            if stop > at {
                let piece = &data[(at - offset) as usize..(stop - offset) as usize];
                let file = OpenOptions::new()
                    .write(true)
                    .open(self.tree().join(&f.path))?;
                file.write_all_at(piece, at - f.offset)?;
                at = stop;
            }
            i += 1;
        }
        Ok(())
    }

    /// The whole body is in: sets modification times, syncs, and moves the tree to its name.
    /// Returns where it is and how many files it holds.
    pub fn finish(self) -> io::Result<(PathBuf, usize)> {
        let plan = self.plan.as_ref().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "the folder ended without its manifest",
            )
        })?;
        let tree = self.tree();
        for f in &plan.files {
            let file = OpenOptions::new().write(true).open(tree.join(&f.path))?;
            set_time(&file, f.mtime);
            file.sync_data()?;
        }
        // Deepest first: setting a folder's time is undone by writing into it.
        let mut dirs: Vec<&(String, u64)> = plan.dirs.iter().collect();
        dirs.sort_by_key(|(p, _)| std::cmp::Reverse(p.matches('/').count()));
        for (dir, mtime) in dirs {
            set_time(&File::open(tree.join(dir))?, *mtime);
        }
        File::open(&tree)?.sync_all()?;
        let target = self.reserve()?;
        // The reserved folder is empty and ours: renaming onto it is atomic, and the tree
        // takes the permissions the user's umask gave the reserved one.
        let mode = fs::metadata(&target)?.permissions().mode();
        fs::rename(&tree, &target)?;
        fs::set_permissions(&target, fs::Permissions::from_mode(mode))?;
        let files = plan.files.len();
        let _ = fs::remove_dir_all(&self.staging);
        Ok((target, files))
    }

    /// The first free `NAME`, `NAME (1)`, … in the parent, taken by creating it.
    fn reserve(&self) -> io::Result<PathBuf> {
        for n in 0..MAX_ALTERNATIVES {
            let name = match n {
                0 => self.name.clone(),
                n => format!("{} ({n})", self.name),
            };
            let target = self.parent.join(name);
            match fs::create_dir(&target) {
                Ok(()) => return Ok(target),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free folder name",
        ))
    }

    /// Removes everything of a folder that will not complete.
    pub fn discard(self) {
        let _ = fs::remove_dir_all(&self.staging);
    }
}

/// Sets a modification time where the platform lets us: a time it cannot store (any `u64`
/// may come) leaves the time of the write, and the folder is still saved.
fn set_time(file: &File, ms: u64) {
    if let Some(t) = UNIX_EPOCH.checked_add(Duration::from_millis(ms)) {
        let _ = file.set_modified(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::folder::pack::FolderSource;
    use sharethings_protocol::format::chunks::chunk_count;
    use std::os::unix::fs::MetadataExt;

    /// A tree of a big file, small files, an empty folder and old modification times.
    fn tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().join("trip");
        fs::create_dir_all(r.join("day 1/empty")).unwrap();
        let big: Vec<u8> = (0..600_000u32).map(|i| (i % 253) as u8).collect();
        fs::write(r.join("day 1/video.bin"), big).unwrap();
        for i in 0..50 {
            fs::write(r.join(format!("note{i}.txt")), format!("note {i}")).unwrap();
        }
        let old = UNIX_EPOCH + Duration::from_secs(1_600_000_000);
        File::open(r.join("note7.txt"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        File::open(r.join("day 1/empty"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        root
    }

    fn body_of(src: &FolderSource) -> Vec<u8> {
        let mut body = vec![0u8; src.size() as usize];
        src.read_at(&mut body, 0).unwrap();
        body
    }

    fn feed(sink: &mut FolderSink, body: &[u8], order: &[u64]) -> Result<(), UnpackError> {
        for &i in order {
            let start = (i * CHUNK_SIZE) as usize;
            let len = chunk_len(i, body.len() as u64) as usize;
            sink.write_chunk(i, &body[start..start + len])?;
        }
        Ok(())
    }

    fn same_tree(a: &Path, b: &Path) {
        let mut names: Vec<_> = fs::read_dir(a)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        let mut theirs: Vec<_> = fs::read_dir(b)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        theirs.sort();
        assert_eq!(names, theirs, "{}", a.display());
        for n in names {
            let (x, y) = (a.join(&n), b.join(&n));
            let (mx, my) = (fs::metadata(&x).unwrap(), fs::metadata(&y).unwrap());
            assert_eq!(mx.is_dir(), my.is_dir());
            if mx.is_dir() {
                same_tree(&x, &y);
            } else {
                assert_eq!(
                    fs::read(&x).unwrap(),
                    fs::read(&y).unwrap(),
                    "{}",
                    x.display()
                );
            }
            if !mx.is_dir() || fs::read_dir(&x).unwrap().next().is_none() {
                assert_eq!(mx.mtime(), my.mtime(), "mtime of {}", x.display());
            }
        }
    }

    #[test]
    fn a_tree_arrives_whole_in_any_order_beside_an_existing_one() {
        let src_root = tree();
        let (src, _) = FolderSource::scan(&src_root.path().join("trip")).unwrap();
        let body = body_of(&src);
        let total = chunk_count(src.size());
        assert!(total >= 3);
        let into = tempfile::tempdir().unwrap();
        fs::create_dir(into.path().join("trip")).unwrap();
        // Later chunks first: they wait in the spool until the manifest is whole.
        let mut order: Vec<u64> = (0..total).rev().collect();
        order.rotate_left(1);
        let mut sink =
            FolderSink::create(into.path(), "trip", "abc", src.size(), src.entries()).unwrap();
        feed(&mut sink, &body, &order).unwrap();
        let (path, files) = sink.finish().unwrap();
        assert_eq!(path, into.path().join("trip (1)"));
        assert_eq!(files, 51);
        same_tree(&src_root.path().join("trip"), &path);
        let left: Vec<_> = fs::read_dir(into.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "no staging left: {left:?}");
    }

    #[test]
    fn a_bad_manifest_is_refused_before_anything_is_written() {
        let manifest = br#"{"entries":[{"path":"../escape","size":1,"mtime":0}]}"#;
        let mut body = (manifest.len() as u32).to_be_bytes().to_vec();
        body.extend_from_slice(manifest);
        body.push(b'x');
        let into = tempfile::tempdir().unwrap();
        let mut sink = FolderSink::create(into.path(), "f", "id", body.len() as u64, 1).unwrap();
        let err = feed(&mut sink, &body, &[0]).unwrap_err();
        assert!(matches!(err, UnpackError::Refused(Refusal(why)) if why.contains("..")));
        assert!(!sink.tree().exists(), "nothing of the tree exists");
        sink.discard();
        assert_eq!(fs::read_dir(into.path()).unwrap().count(), 0);
        assert!(!into.path().parent().unwrap().join("escape").exists());
    }

    #[test]
    fn a_manifest_length_beyond_the_body_or_8_mib_is_refused() {
        let into = tempfile::tempdir().unwrap();
        let mut sink = FolderSink::create(into.path(), "f", "id", 10, 0).unwrap();
        let err = feed(&mut sink, &[0, 0, 1, 0, 1, 2, 3, 4, 5, 6], &[0]).unwrap_err();
        assert!(matches!(err, UnpackError::Refused(_)));
        let mut sink = FolderSink::create(into.path(), "g", "id", 3, 0).unwrap();
        assert!(matches!(
            feed(&mut sink, &[0, 0, 0], &[0]),
            Err(UnpackError::Refused(_))
        ));
    }
}
