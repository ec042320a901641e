//! `peglab relay verify`: check a file of raw headers as a header relay would.

use std::path::PathBuf;

use bitcoin::{Network, block::Header, consensus::encode::deserialize_hex};
use peglab_sim::relay::headers::{AtHeight, verify_run};

use super::Exit;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Verify a file of raw 80-byte headers (hex, one per line; `#` comments and blank lines
    /// are skipped) that continues from a checkpoint: linkage, proof of work, and the
    /// difficulty rule, retargets included. Exit 0 when all hold, 1 naming the first header
    /// that fails, 2 for unreadable input.
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The network whose rules apply (only mainnet's are implemented).
    #[arg(long, default_value = "mainnet")]
    network: String,
    /// The header the file continues from, as HEIGHT:HEADERHEX.
    #[arg(long, value_name = "HEIGHT:HEADERHEX")]
    from: String,
    /// The first header of the checkpoint's difficulty period, as HEIGHT:HEADERHEX: needed when
    /// the file crosses a retarget before reaching a period start of its own.
    #[arg(long, value_name = "HEIGHT:HEADERHEX")]
    period_start: Option<String>,
    /// The file of headers.
    file: PathBuf,
}

pub(crate) fn run(command: &Command) -> Exit {
    match command {
        Command::Verify(args) => match verify(args) {
            Ok(exit) => exit,
            Err(message) => {
                eprintln!("peglab: {message}");
                Exit::InvalidInput
            }
        },
    }
}

/// The highest height a checkpoint may have: far beyond mainnet's, far from 32-bit overflow.
const MAX_HEIGHT: u32 = 100_000_000;

fn at_height(flag: &str, text: &str) -> Result<AtHeight, String> {
    let (height, hex) = text
        .split_once(':')
        .ok_or_else(|| format!("{flag} wants HEIGHT:HEADERHEX, got `{text}`"))?;
    let height: u32 =
        height.trim().parse().map_err(|_| format!("{flag}: `{height}` is not a height"))?;
    if height > MAX_HEIGHT {
        return Err(format!("{flag}: height {height} is beyond any chain (at most {MAX_HEIGHT})"));
    }
    let header = deserialize_hex(hex.trim())
        .map_err(|e| format!("{flag}: not an 80-byte header in hex: {e}"))?;
    Ok(AtHeight { height, header })
}

fn verify(args: &VerifyArgs) -> Result<Exit, String> {
    let network = match args.network.as_str() {
        "mainnet" | "bitcoin" => Network::Bitcoin,
        other => return Err(format!("network `{other}`: only mainnet's rules are implemented")),
    };
    let from = at_height("--from", &args.from)?;
    let period_start =
        args.period_start.as_deref().map(|p| at_height("--period-start", p)).transpose()?;
    let file = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file).map_err(|e| format!("{file}: {e}"))?;
    let mut headers: Vec<Header> = Vec::new();
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let header = deserialize_hex(line)
            .map_err(|e| format!("{file}:{}: not an 80-byte header in hex: {e}", n + 1))?;
        headers.push(header);
        lines.push(n + 1);
    }
    if headers.is_empty() {
        return Err(format!("{file}: no headers (one 80-byte header in hex per line)"));
    }
    if let Some(start) = &period_start
        && (start.height > from.height || start.height % 2016 != 0)
    {
        return Err(format!(
            "--period-start: height {} is not the first header (a multiple of 2016) of --from's period",
            start.height
        ));
    }
    match verify_run(network, from, period_start, &headers) {
        Ok(run) => {
            println!(
                "ok: {} header(s), heights {}..={}, {} retarget(s), tip {}",
                run.count,
                from.height + 1,
                run.tip.height,
                run.retargets,
                run.tip_hash
            );
            Ok(Exit::Success)
        }
        Err(bad) => {
            println!(
                "{file}:{}: the header at height {} fails: {}",
                lines[bad.index], bad.height, bad.fault
            );
            Ok(Exit::Failed)
        }
    }
}
