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

/// zxcvbn's score a new session's passphrase needs: 3 (about 10^8 guesses), the web client's
/// rule too. Enough now that guesses can only be made online, one per run, seen and slowed by
/// the members.
pub const MIN_SCORE: u8 = 3;

/// Refuses a passphrase for a new session that zxcvbn rates below [`MIN_SCORE`] (the session
/// name counts as something an attacker knows), and offers a generated one.
pub fn strong_enough(pass: &str, session_id: &str) -> Result<(), Failure> {
    let estimate = zxcvbn::zxcvbn(pass, &[session_id]);
    if u8::from(estimate.score()) >= MIN_SCORE {
        return Ok(());
    }
    let hint = estimate
        .feedback()
        .and_then(|f| f.warning().map(|w| format!(" ({w})")))
        .unwrap_or_default();
    Err(Failure::Usage(format!(
        "this passphrase is too easy to guess for a new session{hint}; use a longer one, for example this generated one: {}",
        generate()
    )))
}

/// A generated passphrase: five groups of five random lowercase letters (about 117 bits).
pub fn generate() -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    let mut out = String::new();
    for group in 0..5 {
        if group > 0 {
            out.push('-');
        }
        for _ in 0..5 {
            // Rejection sampling keeps every letter equally likely.
            let letter = loop {
                let [b]: [u8; 1] = crate::v3::keys::random();
                if usize::from(b) < 256 - 256 % LETTERS.len() {
                    break LETTERS[usize::from(b) % LETTERS.len()];
                }
            };
            out.push(char::from(letter));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passphrases_are_refused_for_new_sessions_with_a_generated_offer() {
        for weak in [
            "1234",
            "password",
            "letmein1",
            "quiet-harbor-17",
            "qwerty123",
        ] {
            let Err(Failure::Usage(why)) = strong_enough(weak, "quiet-harbor-17") else {
                panic!("{weak} accepted")
            };
            assert!(why.contains("generated"), "{why}");
        }
        for strong in ["amber-comet-lake-seven-violet-plum", &generate()] {
            assert!(strong_enough(strong, "s").is_ok(), "{strong} refused");
        }
        let g = generate();
        assert_eq!(g.len(), 29);
        assert_ne!(g, generate());
    }

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
