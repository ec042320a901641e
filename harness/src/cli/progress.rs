//! Showing the progress of a bitcoind build: a bar on a terminal, a line per stage and per
//! 10 % otherwise (CI logs).

use std::{
    io::IsTerminal,
    sync::atomic::{AtomicU8, Ordering},
};

use indicatif::{ProgressBar, ProgressStyle};
use peglab_harness::bitcoind::BuildProgress;

/// Build progress on stderr.
pub(crate) struct StderrProgress {
    bar: Option<ProgressBar>,
    last_logged: AtomicU8,
}

impl StderrProgress {
    pub(crate) fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(100);
            if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos:>3}% {elapsed}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Self { bar, last_logged: AtomicU8::new(0) }
    }
}

impl BuildProgress for StderrProgress {
    fn stage(&self, what: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(what.to_owned()),
            None => eprintln!("peglab: {what}"),
        }
    }

    fn percent(&self, percent: u8) {
        match &self.bar {
            Some(bar) => bar.set_position(percent.into()),
            None => {
                let step = percent / 10 * 10;
                if step > self.last_logged.swap(step, Ordering::Relaxed) {
                    eprintln!("peglab: compiling bitcoind: {step}%");
                }
            }
        }
    }
}

impl Drop for StderrProgress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
