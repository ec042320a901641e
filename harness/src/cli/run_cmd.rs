//! `peglab run`: run scenario files, each on its own node.

use std::{io::IsTerminal, path::PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use peglab_harness::{bitcoind, suite};

use super::{Exit, progress::StderrProgress, render};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Format {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Scenario files or folders (folders are walked; `invalid/` folders are skipped).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// How many scenarios run at once (each on its own node).
    #[arg(short, long, default_value_t = 1)]
    jobs: usize,
    /// Use this seed instead of each file's.
    #[arg(long)]
    seed: Option<String>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Also write a JUnit XML report here (one test case per scenario).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Also write a self-contained HTML report here: the transaction graph, the timeline,
    /// what each peg trusts.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// Keep every node's datadir (failed scenarios always keep theirs).
    #[arg(long)]
    keep: bool,
    /// Run one shard of the files: `count:K/N` (every Nth file from the Kth, in path order)
    /// or `hash:K/N` (by a hash of each file's path, stable as files come and go), as
    /// cargo-nextest shards. K counts from 1.
    #[arg(long, value_name = "count:K/N | hash:K/N", value_parser = suite::Shard::parse)]
    partition: Option<suite::Shard>,
}

pub(crate) fn run(args: &Args) -> Exit {
    let files = match suite::discover(&args.paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("peglab: {e}");
            return Exit::InvalidInput;
        }
    };
    let files = match &args.partition {
        Some(shard) => shard.select(files),
        None => files,
    };
    let (scenarios, problems) = suite::load_all(&files, args.seed.as_deref());
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!("peglab: {} problem(s) in scenario files; nothing ran", problems.len());
        return Exit::InvalidInput;
    }
    if let Err(e) = peglab_harness::signals::install() {
        eprintln!("peglab: failed to handle SIGINT and SIGTERM: {e}");
    }
    let exe = match bitcoind::find_or_build(&StderrProgress::new()) {
        Ok(found) => found.exe,
        Err(e) => {
            eprintln!("peglab: {e}");
            return Exit::LabFailed;
        }
    };
    let bar = (std::io::stderr().is_terminal() && scenarios.len() > 1).then(|| {
        let bar = ProgressBar::new(scenarios.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("[{bar:40}] {pos}/{len} scenarios {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    });
    let human = matches!(args.format, Format::Human);
    let finished = suite::run_all(&exe, &scenarios, args.jobs, args.keep, &|f| {
        if human {
            let text = render::human(f);
            match &bar {
                Some(bar) => bar.suspend(|| print!("{text}")),
                None => print!("{text}"),
            }
        }
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let reports: Vec<_> = finished.iter().map(|f| &f.report).collect();
    if let Format::Json = args.format {
        println!("{}", render::json(&reports));
    }
    if let Some(path) = &args.junit
        && let Err(e) = render::junit(&reports, path)
    {
        eprintln!("peglab: failed to write {}: {e}", path.display());
        return Exit::LabFailed;
    }
    if let Some(path) = &args.report {
        let runs: Vec<_> =
            reports.iter().map(|r| (*r, scenarios.iter().find(|s| s.file == r.file))).collect();
        if let Err(e) = std::fs::write(path, super::html::page(&runs, &[])) {
            eprintln!("peglab: failed to write {}: {e}", path.display());
            return Exit::LabFailed;
        }
    }
    let failed = reports.iter().filter(|r| !r.passed).count();
    if human {
        println!("{} passed, {} failed", reports.len() - failed, failed);
    }
    if let Some((signal, name)) = peglab_harness::signals::signal() {
        let not_run = scenarios.len() - reports.len();
        eprintln!(
            "peglab: interrupted by {name}; {not_run} scenario(s) not run; the report of what ran is written"
        );
        return Exit::Interrupted(u8::try_from(signal).unwrap_or(0));
    }
    if reports.iter().any(|r| r.bug.is_some()) {
        Exit::Bug
    } else if reports.iter().any(|r| r.error.is_some()) {
        Exit::LabFailed
    } else if failed > 0 {
        Exit::Failed
    } else {
        Exit::Success
    }
}
