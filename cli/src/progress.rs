//! What a person watching sees on stderr: progress bars and one-line notes when stderr is a
//! terminal; notes alone (no bars, no escape codes) when it is a file or a pipe; nothing at
//! all with `--quiet`. Errors are printed by `main` regardless.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::LazyLock;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);
static BARS: LazyLock<MultiProgress> = LazyLock::new(|| {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    MultiProgress::with_draw_target(target)
});

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

fn drawing() -> bool {
    !QUIET.load(Ordering::Relaxed) && std::io::stderr().is_terminal()
}

/// A one-line status message.
pub fn note(message: &str) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    if drawing() {
        let _ = BARS.println(message);
    } else {
        eprintln!("{message}");
    }
}

/// A byte-progress bar for one item; hidden unless stderr is a terminal.
pub fn bar(len: u64, label: &str) -> ProgressBar {
    if !drawing() {
        return ProgressBar::hidden();
    }
    let bar = BARS.add(ProgressBar::new(len));
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}
