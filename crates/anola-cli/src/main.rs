//! `anola`: the clinic engine without a window, for admins' scripts and for tests.
//!
//! Exit codes: 0 success, 1 error, 2 usage, 3 server unreachable (changes stay queued).

mod args;
mod commands;
mod output;

use anola_client::{ClientError, Clinic, ClinicConfig};
use args::Cli;
use clap::Parser;
use output::Out;

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ANOLA_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let out = Out { json: cli.json };
    let code = match run(&cli, &out) {
        Ok(()) => 0,
        Err(e) => {
            out.error(&e);
            match e {
                ClientError::Offline { .. } => 3,
                _ => 1,
            }
        }
    };
    std::process::exit(code);
}

fn run(cli: &Cli, out: &Out) -> Result<(), ClientError> {
    let clinic = Clinic::open(ClinicConfig {
        data_dir: cli.data_dir.clone(),
        server_url: cli.server.clone(),
        clinic_id: cli.clinic_id.clone(),
        field_worker_id: cli.field_worker_id.clone(),
    })?;
    commands::dispatch(cli, &clinic, out)
}
