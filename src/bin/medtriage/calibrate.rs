//! `medtriage calibrate …` subcommands.

use medtriage::Result;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// (placeholder, replaced as the subcommands land)
    #[command(hide = true)]
    Placeholder,
}

pub fn run(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Placeholder => Ok(()),
    }
}
