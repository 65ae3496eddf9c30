//! `anola`: the clinic engine without a window, for admins' scripts and for tests.
//!
//! Exit codes: 0 success, 1 error, 2 usage, 3 server unreachable (changes stay queued).

mod args;
mod output;

use anola_client::{ClientError, Clinic, ClinicConfig};
use args::{Cli, Command, PatientCommand};
use clap::Parser;
use output::Out;

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ANOLA_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
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

fn runtime() -> Result<tokio::runtime::Runtime, ClientError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClientError::Internal {
            message: e.to_string(),
        })
}

fn run(cli: &Cli, out: &Out) -> Result<(), ClientError> {
    let clinic = Clinic::open(ClinicConfig {
        data_dir: cli.data_dir.clone(),
        server_url: cli.server.clone(),
    })?;
    match &cli.command {
        Command::Patient { command } => match command.as_ref() {
            PatientCommand::Add(a) => {
                out.patient(&clinic.register_patient(a.fields.to_fields(true)?)?)
            }
            PatientCommand::Edit { id, fields } => {
                out.patient(&clinic.update_patient(*id, fields.to_fields(false)?)?)
            }
            PatientCommand::Show { id } => out.patient(&clinic.get_patient(*id)?),
            PatientCommand::List { query, limit } => {
                out.patients(&clinic.list_patients(query.as_deref().unwrap_or(""), *limit)?)
            }
        },
        Command::Sync => {
            let report = runtime()?.block_on(clinic.sync_now());
            let status = clinic.status()?;
            out.sync(report?, &status);
        }
        Command::Status => {
            runtime()?.block_on(clinic.probe_server());
            out.status(&clinic.status()?)
        }
        Command::Rejected => out.rejected(&clinic.rejected_writes()?),
    }
    Ok(())
}
