//! `anola`: the clinic engine without a window, for admins' scripts and for tests.
//!
//! Exit codes: 0 success, 1 error, 2 usage, 3 server unreachable (changes stay queued).
//!
//! Every data command signs in through `Workstation::sign_in` (online, or offline against the
//! device's vault) with `ANOLA_USERNAME`, `ANOLA_PASSWORD` and optional `ANOLA_TOTP`, and signs out
//! at the end. `admin` commands send `ANOLA_ADMIN_TOKEN` as a bearer token.

mod args;
mod commands;
mod output;
mod wallet;

use anola_client::{ClientError, Workstation, WorkstationConfig};
use args::Cli;
use args::Command;
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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn credentials() -> Result<(String, String, Option<String>), ClientError> {
    match (env("ANOLA_USERNAME"), env("ANOLA_PASSWORD")) {
        (Some(u), Some(p)) => Ok((u, p, env("ANOLA_TOTP"))),
        _ => Err(ClientError::SignedOut {
            message: "set ANOLA_USERNAME and ANOLA_PASSWORD (and ANOLA_TOTP when your account uses two-factor sign-in)".into(),
        }),
    }
}

fn run(cli: &Cli, out: &Out) -> Result<(), ClientError> {
    let mut cfg = WorkstationConfig::new(cli.data_dir.clone(), cli.server.clone());
    cfg.allow_insecure_http = cli.allow_insecure_http;
    // One command per process: no inactivity lock.
    cfg.auto_lock_after = std::time::Duration::ZERO;
    let rt = commands::runtime()?;
    let ws = rt.block_on(async { Workstation::open(cfg) })?;
    match &cli.command {
        Command::Admin { command } => {
            let clinic_id = ws.state().device.map(|d| d.clinic_id).unwrap_or_else(|| cli.clinic_id.clone());
            return commands::admin(command, &cli.server, &clinic_id, env("ANOLA_ADMIN_TOKEN").as_deref(), out);
        }
        Command::Device => {
            out.value(&ws.state());
            return Ok(());
        }
        Command::Enrol { code, name } => {
            let (u, p, t) = credentials()?;
            let state = rt.block_on(ws.enrol(code, name, &u, &p, t.as_deref()))?;
            rt.block_on(ws.sign_out());
            out.value(&state);
            return Ok(());
        }
        _ => {}
    }
    let (u, p, t) = credentials()?;
    rt.block_on(ws.sign_in(&u, &p, t.as_deref()))?;
    let result = ws.clinic().and_then(|clinic| commands::dispatch(cli, &rt, &clinic, out));
    rt.block_on(ws.sign_out());
    result
}
