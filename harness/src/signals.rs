//! SIGINT and SIGTERM: a run stops cleanly. The first signal stops every node (their process
//! groups), so that scenarios in flight end at once, and marks the run interrupted: the
//! scenarios not yet started are not started, and the report of what ran is still written.
//! A second signal exits at once.

use std::sync::atomic::{AtomicI32, Ordering};

use signal_hook::{
    consts::{SIGINT, SIGTERM},
    iterator::Signals,
};

static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Handles SIGINT and SIGTERM from now on (once per process).
pub fn install() -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new().name("peglab-signals".into()).spawn(move || {
        for signal in signals.forever() {
            let first = SIGNAL.swap(signal, Ordering::SeqCst) == 0;
            crate::spawn::kill_all();
            if !first {
                crate::rundir::finish();
                std::process::exit(128 + signal);
            }
        }
    })?;
    Ok(())
}

/// Whether a signal asked the run to stop.
pub fn interrupted() -> bool {
    SIGNAL.load(Ordering::SeqCst) != 0
}

/// The signal that stopped the run, if one did: its number and name.
pub fn signal() -> Option<(i32, &'static str)> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        SIGINT => Some((SIGINT, "SIGINT")),
        SIGTERM => Some((SIGTERM, "SIGTERM")),
        other => Some((other, "a signal")),
    }
}
