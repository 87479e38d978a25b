//! Progress on a terminal for the long commands (`credctl import`,
//! `backup`, `export`, `credd restore`): a bar with `total`, or a spinner
//! without one, drawn on stderr when it is a terminal; a hidden one
//! otherwise, so a pipe or a log gets only the command's summary.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar (a spinner when `total` is None) drawn with `template`
/// (indicatif's syntax) on a terminal's stderr; hidden elsewhere.
pub fn bar(total: Option<u64>, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => {
            let spinner = ProgressBar::new_spinner();
            spinner.enable_steady_tick(std::time::Duration::from_millis(200));
            spinner
        }
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
