//! `verify`: fetches the web app a server serves and compares every file with the hashes
//! built into this release (`build.rs` hashes `assets/`, which the server embeds), so a person
//! can tell a tampered Pi from a genuine one (docs/cli.md, "Checking the served web app").
//! Each file is fetched twice, as a browser that takes gzip gets it and as one that does not;
//! the manifest `bundle.json` must be this release's, byte for byte, and its SHA-256 is the
//! bundle hash the web app's About panel shows.

use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::exit::Failure;
use crate::transport::{ConnectError, Endpoint};

mod bundle {
    include!(concat!(env!("OUT_DIR"), "/bundle.rs"));
}

/// Largest response read: the biggest file of the web app is well below this.
const MAX_RESPONSE: usize = 32 << 20;

struct Response {
    status: u16,
    gzip: bool,
    body: Vec<u8>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The bundle hash of this release: SHA-256 of its `bundle.json`.
pub fn bundle_hash() -> String {
    sha256(bundle::MANIFEST.as_bytes())
}

/// One plain HTTP/1.1 GET with `Connection: close`, read whole (bounded).
fn get(endpoint: &Endpoint, rel: &str, gzip: bool) -> Result<Response, Failure> {
    let unreachable = |why: String| Failure::Unreachable(why);
    let mut stream = endpoint.connect().map_err(|e| match e {
        ConnectError::Unreachable(why) => unreachable(why),
        ConnectError::RateLimited => unreachable("HTTP 429 (rate limited)".into()),
    })?;
    let path = endpoint
        .path_of(rel)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let encoding = if gzip { "gzip" } else { "identity" };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept-Encoding: {encoding}\r\nUser-Agent: sharethings-cli/{}\r\nConnection: close\r\n\r\n",
        endpoint.host_header(),
        env!("CARGO_PKG_VERSION")
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| unreachable(e.to_string()))?;
    stream.flush().map_err(|e| unreachable(e.to_string()))?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| unreachable(format!("{path}: {e}")))?;
    if raw.len() > MAX_RESPONSE {
        return Err(Failure::Tampered(format!(
            "{path}: a response larger than any file of the web app"
        )));
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut head = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(len)) = head.parse(&raw) else {
        return Err(unreachable(format!("{path}: not an HTTP response")));
    };
    let header = |name: &str| {
        head.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    if header("transfer-encoding").is_some_and(|t| t != "identity") {
        return Err(Failure::Tampered(format!(
            "{path}: a chunked response, which the server never sends for its files"
        )));
    }
    let mut body = raw[len..].to_vec();
    if let Some(length) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body.truncate(length);
    }
    Ok(Response {
        status: head.code.unwrap_or(0),
        gzip: header("content-encoding").as_deref() == Some("gzip"),
        body,
    })
}

/// Checks one file as both kinds of browser get it; the reasons it differs, if it does.
fn check(
    endpoint: &Endpoint,
    rel: &str,
    url_path: &str,
    hash: &str,
    gz_hash: Option<&str>,
) -> Result<Vec<String>, Failure> {
    let mut wrong = Vec::new();
    let plain = get(endpoint, url_path, false)?;
    if plain.status != 200 || plain.gzip || sha256(&plain.body) != hash {
        wrong.push(format!(
            "{rel}: differs (HTTP {}, SHA-256 {})",
            plain.status,
            sha256(&plain.body)
        ));
    }
    let zipped = get(endpoint, url_path, true)?;
    let expected = if zipped.gzip { gz_hash } else { Some(hash) };
    if zipped.status != 200 || expected != Some(sha256(&zipped.body).as_str()) {
        wrong.push(format!(
            "{rel}: differs as gzip (HTTP {}, SHA-256 {})",
            zipped.status,
            sha256(&zipped.body)
        ));
    }
    Ok(wrong)
}

pub fn run(url: &str, ca: Option<&Path>, allow_http: bool) -> Result<(), Failure> {
    let endpoint = Endpoint::new(url, ca, allow_http).map_err(|e| Failure::Usage(e.0))?;
    let mut wrong = Vec::new();
    let manifest = get(&endpoint, "bundle.json", false)?;
    if bundle::SHIPS_MANIFEST
        && (manifest.status != 200 || manifest.body != bundle::MANIFEST.as_bytes())
    {
        wrong.push(format!(
            "bundle.json: differs (HTTP {}, bundle hash {})",
            manifest.status,
            sha256(&manifest.body)
        ));
    }
    let gz = |rel: &str| {
        bundle::FILES
            .iter()
            .find(|(p, _)| *p == format!("{rel}.gz"))
            .map(|(_, h)| *h)
    };
    let mut checked = 0;
    for (rel, hash) in bundle::FILES.iter().filter(|(p, _)| !p.ends_with(".gz")) {
        wrong.extend(check(&endpoint, rel, rel, hash, gz(rel))?);
        checked += 1;
        if *rel == "index.html" {
            // What a browser opening the server's address gets.
            wrong.extend(check(&endpoint, "/ (index.html)", "./", hash, gz(rel))?);
        }
    }
    println!("bundle {}", bundle_hash());
    if wrong.is_empty() {
        println!(
            "all {checked} files of the web app match sharethings-cli {}",
            env!("CARGO_PKG_VERSION")
        );
        return Ok(());
    }
    for line in &wrong {
        println!("MISMATCH {line}");
    }
    Err(Failure::Tampered(format!(
        "{} difference(s) from this release's web app",
        wrong.len()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_lists_the_web_app_and_its_manifest_is_canonical() {
        assert!(bundle::FILES.iter().any(|(p, _)| *p == "index.html"));
        assert!(bundle::FILES
            .iter()
            .all(|(p, h)| *p != "bundle.json" && h.len() == 64));
        let sorted = bundle::FILES
            .windows(2)
            .all(|w| w[0].0.as_bytes() < w[1].0.as_bytes());
        assert!(sorted);
        let manifest: serde_json::Value = serde_json::from_str(bundle::MANIFEST).unwrap();
        assert_eq!(
            manifest["files"].as_object().unwrap().len(),
            bundle::FILES.len()
        );
        let index =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/index.html")).unwrap();
        assert_eq!(manifest["files"]["index.html"], sha256(&index));
        assert_eq!(bundle_hash().len(), 64);
    }
}
