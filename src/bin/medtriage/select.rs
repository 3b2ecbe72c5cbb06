//! `medtriage select …` subcommands (placeholder; being written).
use medtriage::Result;

/// Batch selection subcommands.
#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Not written yet.
    Placeholder,
}

pub fn run(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Placeholder => Ok(()),
    }
}
