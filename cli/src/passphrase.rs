//! Where the passphrase comes from: a file, the environment, or a prompt on the terminal.
//! Never from the command line, where every user of the machine can read it.

use std::path::Path;

use crate::exit::Failure;

pub const ENV: &str = "SHARETHINGS_PASSPHRASE";

/// The file's first line wins, then the environment variable, then a prompt on /dev/tty.
pub fn obtain(file: Option<&Path>) -> Result<String, Failure> {
    let pass = if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("--passphrase-file {}: {e}", path.display())))?;
        first_line(&text).to_string()
    } else if let Ok(pass) = std::env::var(ENV) {
        pass
    } else {
        rpassword::prompt_password("Passphrase: ").map_err(|e| {
            Failure::Usage(format!(
                "no passphrase: no terminal to ask on ({e}); use --passphrase-file or {ENV}"
            ))
        })?
    };
    if pass.is_empty() {
        return Err(Failure::Usage("the passphrase is empty".into()));
    }
    Ok(pass)
}

/// A passphrase file may end with a newline (or CRLF); the passphrase itself cannot.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_gives_its_first_line_without_the_newline() {
        assert_eq!(first_line("correct horse\n"), "correct horse");
        assert_eq!(first_line("with spaces  \r\nsecond"), "with spaces  ");
        assert_eq!(first_line(""), "");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass");
        std::fs::write(&path, "s3cret\n").unwrap();
        assert_eq!(obtain(Some(&path)).unwrap(), "s3cret");
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(obtain(Some(&path)), Err(Failure::Usage(_))));
        assert!(matches!(
            obtain(Some(&dir.path().join("missing"))),
            Err(Failure::Usage(_))
        ));
    }
}
