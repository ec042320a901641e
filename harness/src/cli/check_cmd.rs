//! `peglab check` (validate without a node), `peglab list` (scenarios and their steps) and
//! `peglab derive` (scripts, descriptors, addresses and spend paths as JSON).

use std::path::PathBuf;

use peglab_harness::suite;
use peglab_sim::scenario::Scenario;

use super::Exit;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Scenario files or folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn load(paths: &[PathBuf]) -> Result<Vec<Scenario>, Exit> {
    let files = suite::discover(paths).map_err(|e| {
        eprintln!("peglab: {e}");
        Exit::InvalidInput
    })?;
    // Files named directly are checked even inside an `invalid/` folder.
    let (scenarios, problems) = suite::load_all(&files, None);
    if problems.is_empty() {
        return Ok(scenarios);
    }
    for p in &problems {
        eprintln!("{p}");
    }
    eprintln!("peglab: {} problem(s) in {} file(s)", problems.len(), count_files(&problems));
    Err(Exit::InvalidInput)
}

fn count_files(problems: &[peglab_sim::scenario::Diagnostic]) -> usize {
    let mut files: Vec<&str> = problems.iter().map(|p| p.file.as_str()).collect();
    files.dedup();
    files.len()
}

pub(crate) fn check(args: &Args) -> Exit {
    match load(&args.paths) {
        Ok(scenarios) => {
            println!("{} scenario(s) valid", scenarios.len());
            Exit::Success
        }
        Err(exit) => exit,
    }
}

pub(crate) fn list(args: &Args) -> Exit {
    match load(&args.paths) {
        Ok(scenarios) => {
            for s in scenarios {
                println!("{} ({}, seed {:?})", s.name, s.file, s.seed);
                for step in &s.steps {
                    let name =
                        step.action.tx_name().map(|n| format!(" -> {n}")).unwrap_or_default();
                    let peg = match &step.action {
                        peglab_sim::scenario::Action::Peg(p) => format!(" ({})", p.peg),
                        _ => String::new(),
                    };
                    println!(
                        "  {:>3}. line {:<4} {}{peg}{name}",
                        step.index,
                        step.line,
                        step.action.keyword()
                    );
                }
            }
            Exit::Success
        }
        Err(exit) => exit,
    }
}

pub(crate) fn derive(args: &Args) -> Exit {
    match load(&args.paths) {
        Ok(scenarios) => {
            let all: Vec<_> = scenarios.iter().map(peglab_sim::derive::derive).collect();
            let value = if all.len() == 1 { all[0].clone() } else { serde_json::Value::Array(all) };
            println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            Exit::Success
        }
        Err(exit) => exit,
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    /// Scenario files or folders.
    #[arg(required_unless_present = "unsupported")]
    paths: Vec<PathBuf>,
    /// List the systems peglab cannot run on unmodified Bitcoin Core, and why (no grade).
    #[arg(long)]
    unsupported: bool,
    /// Print JSON instead of words.
    #[arg(long)]
    json: bool,
    /// Write the explanation as a self-contained HTML page here.
    #[arg(long, value_name = "FILE.html")]
    html: Option<PathBuf>,
    /// Execute every claim on a fresh regtest lab: each steal accepted by Bitcoin Core and
    /// refused one signer short, each exit refused one block early and accepted on time.
    #[arg(long)]
    prove: bool,
}

pub(crate) fn explain(args: &ExplainArgs) -> Exit {
    if args.unsupported {
        for (system, why) in peglab_sim::trust::NOT_ON_UNMODIFIED_CORE {
            println!("{system}: not graded. {why}");
        }
        return Exit::Success;
    }
    match load(&args.paths) {
        Ok(scenarios) => {
            if args.prove {
                return prove(&scenarios, args.json);
            }
            if let Some(path) = &args.html {
                let all: Vec<&Scenario> = scenarios.iter().collect();
                if let Err(e) = std::fs::write(path, super::html::page(&[], &all)) {
                    eprintln!("peglab: failed to write {}: {e}", path.display());
                    return Exit::LabFailed;
                }
                return Exit::Success;
            }
            if args.json {
                let all: Vec<_> = scenarios
                    .iter()
                    .map(|s| serde_json::json!({ "scenario": s.file, "pegs": peglab_sim::trust::explain(s) }))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
            } else {
                for s in &scenarios {
                    println!("{} ({})", s.name, s.file);
                    print!("{}", peglab_sim::trust::render(&peglab_sim::trust::explain(s)));
                }
            }
            Exit::Success
        }
        Err(exit) => exit,
    }
}

fn prove(scenarios: &[Scenario], json: bool) -> Exit {
    let exe = match peglab_harness::bitcoind::find_or_build(&super::progress::StderrProgress::new())
    {
        Ok(b) => b.exe,
        Err(e) => {
            eprintln!("peglab: {e}");
            return Exit::LabFailed;
        }
    };
    let mut all_held = true;
    let mut out = Vec::new();
    for s in scenarios {
        let began = std::time::Instant::now();
        let proofs = match peglab_harness::prove::prove(&exe, s) {
            Ok(proofs) => proofs,
            Err(e) => {
                eprintln!("peglab: {}: the lab failed: {e}", s.file);
                return Exit::LabFailed;
            }
        };
        all_held &=
            proofs.iter().all(|p| p.held || p.shown.iter().any(|l| l.starts_with("not run")));
        if json {
            out.push(serde_json::json!({ "scenario": s.file, "proofs": proofs, "millis": began.elapsed().as_millis() as u64 }));
            continue;
        }
        println!("{} ({})", s.name, s.file);
        for p in &proofs {
            let mark = if p.held { "proven" } else { "NOT PROVEN" };
            println!("  {mark}: {} / {} / {}", p.peg, p.coins, p.claim);
            for line in &p.shown {
                println!("      {line}");
            }
        }
        println!("  ({} ms)", began.elapsed().as_millis());
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    if all_held { Exit::Success } else { Exit::Failed }
}
