//! A progress line on stderr for fits that take more than a moment; hidden when stderr
//! is not a terminal or with --quiet.

use std::io::IsTerminal;
use std::time::Duration;

use gaussmix::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    pub fn new(quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Bar { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar { bar: Some(bar) }
    }

    pub fn update(&self, p: &Progress) {
        if let Some(b) = &self.bar {
            let what = match p.short_run {
                Some(c) => format!("em-em short run {}/{}", c + 1, p.short_runs),
                None => format!("restart {}/{}", p.run + 1, p.n_init),
            };
            b.set_message(format!(
                "{what}  iteration {}  log-likelihood {:.6}  change {:.3e}",
                p.iteration, p.lower_bound, p.change
            ));
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
