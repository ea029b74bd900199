//! The embedded web bundle (`assets/`, built from `web/`) as a lookup table built once at start.
//!
//! Owns: for every servable file, its bytes, Content-Type, cache policy and strong ETag, plus
//! its precompressed `.gz` twin when the build produced one. Each ETag is computed the first
//! time its file is served and kept: hashing the whole bundle at start would make every page
//! of it resident in an idle server.
//!
//! Never does: touch the file system (the bytes are compiled into the binary), or expose a
//! `.gz` twin as a path of its own.

use std::collections::HashMap;
use std::sync::OnceLock;

use include_dir::{include_dir, Dir, File};
use sha2::{Digest, Sha256};

static BUNDLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets");

/// Vite writes content-hashed build outputs to this folder of the bundle (its `assetsDir`).
const HASHED_DIR: &str = "assets/";

/// Shortest hash Vite/Rollup puts in a file name (`[name]-[hash:8]`).
const MIN_HASH_LEN: usize = 8;

/// One byte representation of a file: identity or gzip.
#[derive(Debug)]
pub struct Variant {
    pub bytes: &'static [u8],
    etag: OnceLock<String>,
}

impl Variant {
    fn new(bytes: &'static [u8]) -> Self {
        Variant {
            bytes,
            etag: OnceLock::new(),
        }
    }

    /// Strong ETag, quotes included: the first 16 bytes of the SHA-256 of `bytes`, in hex.
    pub fn etag(&self) -> &str {
        self.etag.get_or_init(|| {
            let digest = Sha256::digest(self.bytes);
            let mut etag = String::with_capacity(34);
            etag.push('"');
            for byte in digest.iter().take(16) {
                etag.push_str(&format!("{byte:02x}"));
            }
            etag.push('"');
            etag
        })
    }
}

/// A servable file of the bundle.
#[derive(Debug)]
pub struct Asset {
    pub content_type: &'static str,
    pub cache_control: &'static str,
    pub identity: Variant,
    pub gzip: Option<Variant>,
}

/// Every servable file, by its path relative to the bundle root (`index.html`,
/// `assets/index-C0bXRwDx.js`, …).
#[derive(Debug)]
pub struct Assets {
    files: HashMap<String, Asset>,
}

impl Assets {
    /// Indexes the embedded bundle. Done once by [`super::spawn`].
    pub fn embedded() -> Self {
        let mut all = Vec::new();
        collect(&BUNDLE, &mut all);
        Self::from_files(all.iter().filter_map(|file| {
            let path = file.path().to_str()?;
            Some((path, file.contents()))
        }))
    }

    /// Builds the table from `(path, bytes)` pairs; `x.gz` becomes the gzip twin of `x` when
    /// `x` exists. A `.gz` without its twin is not served at all.
    pub fn from_files<'a>(files: impl Iterator<Item = (&'a str, &'static [u8])> + Clone) -> Self {
        let gz: HashMap<&str, &'static [u8]> = files
            .clone()
            .filter_map(|(path, bytes)| Some((path.strip_suffix(".gz")?, bytes)))
            .collect();
        let files = files
            .filter(|(path, _)| !path.ends_with(".gz"))
            .map(|(path, bytes)| {
                let asset = Asset {
                    content_type: content_type(path),
                    cache_control: cache_control(path),
                    identity: Variant::new(bytes),
                    gzip: gz.get(path).map(|gz| Variant::new(gz)),
                };
                (path.to_owned(), asset)
            })
            .collect();
        Assets { files }
    }

    pub fn get(&self, path: &str) -> Option<&Asset> {
        self.files.get(path)
    }

    /// Paths of every servable file (tests enumerate the bundle, whatever it holds).
    #[cfg(test)]
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

fn collect(dir: &'static Dir<'static>, out: &mut Vec<&'static File<'static>>) {
    out.extend(dir.files());
    for sub in dir.dirs() {
        collect(sub, out);
    }
}

fn extension(path: &str) -> Option<&str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.').map(|(_, ext)| ext)
}

/// Content-Type by extension; text types say UTF-8 (what Vite emits).
pub fn content_type(path: &str) -> &'static str {
    match extension(path).map(str::to_ascii_lowercase).as_deref() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("ico") => "image/x-icon",
        Some("webp") => "image/webp",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        Some("webmanifest") => "application/manifest+json",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// Hashed build outputs never change under their name, so browsers may keep them for a year
/// without asking; everything else (index.html above all, which names the current hashes) must
/// be revalidated on every use (cheap: ETag and 304).
pub fn cache_control(path: &str) -> &'static str {
    if is_hashed(path) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// `assets/<name>-<hash>.<ext>` with a hash of at least 8 characters of Rollup's alphabet.
///
/// A base64url hash may itself contain `-`; we split at the last `-`, so such a file would
/// merely be treated as unhashed (revalidated, never wrongly cached). Our build therefore asks
/// for base36 hashes (`web/vite.config.ts`), and a test checks that every file it put in
/// `assets/` is taken as hashed. Files outside `assets/` (Vite copies `public/` there
/// untouched) are never taken as hashed, so a name like `apple-touch-icon.png` cannot be
/// cached for a year by mistake.
pub fn is_hashed(path: &str) -> bool {
    let Some(name) = path.strip_prefix(HASHED_DIR) else {
        return false;
    };
    if name.contains('/') {
        return false;
    }
    let Some((stem, _ext)) = name.rsplit_once('.') else {
        return false;
    };
    let Some((base, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    !base.is_empty()
        && hash.len() >= MIN_HASH_LEN
        && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_bundle_has_index() {
        let assets = Assets::embedded();
        let index = assets
            .get("index.html")
            .expect("assets/index.html is embedded");
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        assert_eq!(index.cache_control, "no-cache");
        assert!(assets.paths().all(|p| !p.ends_with(".gz")));
    }

    #[test]
    fn every_file_the_build_hashed_is_cached_long() {
        let assets = Assets::embedded();
        let built: Vec<&str> = assets
            .paths()
            .filter(|p| p.starts_with(HASHED_DIR))
            .collect();
        assert!(!built.is_empty());
        for path in built {
            assert!(is_hashed(path), "{path}: its hash is not recognised");
        }
    }

    #[test]
    fn etag_is_strong_sha256_prefix() {
        let v = Variant::new(b"abc");
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        assert_eq!(v.etag(), "\"ba7816bf8f01cfea414140de5dae2223\"");
    }

    #[test]
    fn gz_twins_pair_up() {
        let files = [
            ("index.html", &b"<html>"[..]),
            ("index.html.gz", &b"gz-html"[..]),
            ("orphan.txt.gz", &b"gz"[..]),
            ("assets/a-12345678.js", &b"js"[..]),
        ];
        let assets = Assets::from_files(files.iter().copied());
        let index = assets.get("index.html").unwrap();
        assert_eq!(index.gzip.as_ref().unwrap().bytes, b"gz-html");
        assert_ne!(index.gzip.as_ref().unwrap().etag(), index.identity.etag());
        assert!(assets.get("index.html.gz").is_none());
        assert!(assets.get("orphan.txt.gz").is_none());
        assert!(assets.get("orphan.txt").is_none());
        assert!(assets.get("assets/a-12345678.js").unwrap().gzip.is_none());
    }

    #[test]
    fn content_types() {
        for (path, want) in [
            ("index.html", "text/html; charset=utf-8"),
            ("assets/x-1.js", "text/javascript; charset=utf-8"),
            ("a.mjs", "text/javascript; charset=utf-8"),
            ("a.CSS", "text/css; charset=utf-8"),
            ("a.json", "application/json"),
            ("a.js.map", "application/json"),
            ("a.svg", "image/svg+xml"),
            ("a.png", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.ico", "image/x-icon"),
            ("a.webp", "image/webp"),
            ("a.woff2", "font/woff2"),
            ("robots.txt", "text/plain; charset=utf-8"),
            ("site.webmanifest", "application/manifest+json"),
            ("a.wasm", "application/wasm"),
            ("noext", "application/octet-stream"),
            ("dir.v2/noext", "application/octet-stream"),
        ] {
            assert_eq!(content_type(path), want, "{path}");
        }
    }

    #[test]
    fn hashed_names() {
        assert!(is_hashed("assets/index-C0bXRwDx.js"));
        assert!(is_hashed("assets/index-DiwrgTda.css"));
        assert!(is_hashed("assets/vendor_react-a1b2c3d4e5.js"));
        assert!(is_hashed("assets/logo-abcdefgh.svg"));
        assert!(!is_hashed("assets/index-C0b.js"), "hash too short");
        assert!(!is_hashed("assets/index.js"));
        assert!(!is_hashed("assets/-abcdefgh.js"), "no name");
        assert!(!is_hashed("assets/sub/index-C0bXRwDx.js"));
        assert!(!is_hashed("index-C0bXRwDx.js"), "outside assets/");
        assert!(!is_hashed("apple-touch-icon.png"));
        assert!(!is_hashed("index.html"));
        assert!(
            !is_hashed("assets/index-C0bX.wDx"),
            "dot inside the would-be hash"
        );
        assert_eq!(
            cache_control("assets/index-C0bXRwDx.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control("index.html"), "no-cache");
    }
}
