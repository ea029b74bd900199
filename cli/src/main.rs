//! `sharethings-cli`: a command-line member of a ShareThings session.

fn main() {
    eprintln!("usage: sharethings-cli send FILE… | receive [--dir DIR]");
    std::process::exit(2);
}
