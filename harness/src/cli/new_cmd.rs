//! `peglab new KIND`: a family's commented starter scenario.

use peglab_sim::families;

use super::Exit;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The kind of peg to start from (`peglab new --list` shows them).
    #[arg(required_unless_present = "list")]
    kind: Option<String>,
    /// List the kinds, with what each models.
    #[arg(long)]
    list: bool,
}

pub(crate) fn run(args: &Args) -> Exit {
    let all = families::list();
    if args.list {
        for f in &all {
            println!("{:<14} {}", f.kind, f.about);
        }
        return Exit::Success;
    }
    let kind = args.kind.as_deref().unwrap_or_default();
    match all.iter().find(|f| f.kind == kind) {
        Some(f) => {
            print!("{}", f.starter);
            Exit::Success
        }
        None => {
            let kinds: Vec<&str> = all.iter().map(|f| f.kind).collect();
            eprintln!("peglab: unknown kind `{kind}`; known kinds: {}", kinds.join(", "));
            Exit::InvalidInput
        }
    }
}
