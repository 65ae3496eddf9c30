//! One function per command group; each is a thin call into `Clinic`.

use crate::args::{AdminCommand, AppointmentCommand, CardCommand, Cli, Command, PatientCommand, RecordCommand};

use crate::output::Out;
use anola_client::sync::admin::AdminClient;
use anola_client::sync::round::RoundOptions;
use anola_client::{ClientError, Clinic};
use anola_protocol::AppointmentFields;

/// Two workers: a sync fetches its next page on one while it applies the current one on the other.
pub fn runtime() -> Result<tokio::runtime::Runtime, ClientError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ClientError::Internal { message: e.to_string() })
}

fn appointment_fields(json: serde_json::Value) -> Result<AppointmentFields, ClientError> {
    serde_json::from_value(json).map_err(|e| ClientError::ValidationFailed {
        message: e.to_string(),
        errors: vec![anola_protocol::FieldError {
            field: "fields".into(),
            code: "invalid_value".into(),
            message: e.to_string(),
            mutation_index: None,
        }],
    })
}

/// Runs a data command on the unlocked clinic.
pub fn dispatch(cli: &Cli, rt: &tokio::runtime::Runtime, clinic: &Clinic, out: &Out) -> Result<(), ClientError> {
    match &cli.command {
        Command::Patient { command } => match command.as_ref() {
            PatientCommand::Add(a) => out.patient(&clinic.register_patient(a.fields.to_fields(true)?)?),
            PatientCommand::Edit { id, fields } => out.patient(&clinic.update_patient(*id, fields.to_fields(false)?)?),
            PatientCommand::Show { id } => out.patient(&clinic.get_patient(*id)?),
            PatientCommand::Delete { id } => out.patient(&clinic.delete_patient(*id)?),
            PatientCommand::List { query, limit } => out.patients(&clinic.list_patients(query.as_deref().unwrap_or(""), *limit)?),
        },
        Command::Appointment { command } => appointment(command, clinic, out)?,
        Command::Record { command } => match command.as_ref() {
            RecordCommand::Add { patient, content } => out.value(&clinic.add_record(content.to_fields(*patient)?)?),
            RecordCommand::Amend { version, content } => out.value(&clinic.amend_record(*version, content.to_fields(uuid::Uuid::nil())?)?),
            RecordCommand::List { patient } => out.records(&clinic.list_records(*patient)?),
        },
        Command::Providers => out.providers(&clinic.list_providers()?),
        Command::Conflicts { about } => out.conflicts(&clinic.list_conflicts(*about)?),
        Command::Admin { .. } | Command::Enrol { .. } | Command::Device => unreachable!("handled before sign-in"),
        Command::Sync { max_pages, rounds } => {
            let json = out.json;
            let mut reports = Vec::new();
            for _ in 0..*rounds {
                let report = rt.block_on(clinic.sync_now_reporting(RoundOptions { max_pages: *max_pages }, &|p| {
                    if !json {
                        eprintln!("pulled {} of {} change-log entries", p.done, p.total);
                    }
                }));
                reports.push(report?);
            }
            let status = clinic.status()?;
            out.sync(reports, &status);
        }
        Command::Status => {
            rt.block_on(clinic.probe_server());
            out.status(&clinic.status()?)
        }
        Command::Rejected => out.rejected(&clinic.rejected_writes()?),
        Command::AccessHistory { patient } => out.value(&clinic.local_access_history(*patient)?),
        Command::Card { command } => card(command, rt, clinic, out)?,
        Command::Wallet { command } => crate::wallet::run(command, rt, clinic, out)?,
        Command::CheckIn { text, image } => {
            let text = scanned(text.as_deref(), image.as_deref())?;
            out.value(&rt.block_on(clinic.check_in(&text))?)
        }
    }
    Ok(())
}

/// The card text given on the command line, or read from a picture of the card.
fn scanned(text: Option<&str>, image: Option<&std::path::Path>) -> Result<String, ClientError> {
    match (text, image) {
        (_, Some(path)) => {
            let bytes = std::fs::read(path)
                .map_err(|e| ClientError::card_rejected("image_unreadable", format!("cannot read {}: {e}", path.display())))?;
            anola_client::card_image::card_text_from_image(&bytes)
        }
        (Some(text), None) => Ok(text.to_owned()),
        (None, None) => Ok(String::new()),
    }
}

pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), ClientError> {
    std::fs::write(path, bytes).map_err(|e| ClientError::Storage {
        message: format!("cannot write {}: {e}", path.display()),
    })
}

/// Writes the printable card where asked: SVG (millimetres) and/or PNG at 300 dpi.
fn write_card(card: &anola_client::PrintableCard, svg: Option<&std::path::Path>, png: Option<&std::path::Path>) -> Result<(), ClientError> {
    if let Some(path) = svg {
        write_file(path, card.svg.as_bytes())?;
    }
    if let Some(path) = png {
        write_file(path, &anola_client::card_print::card_png(&card.svg, 300.0)?)?;
    }
    Ok(())
}

fn card(command: &CardCommand, rt: &tokio::runtime::Runtime, clinic: &Clinic, out: &Out) -> Result<(), ClientError> {
    match command {
        CardCommand::Issue { patient, svg, png } => {
            let card = rt.block_on(clinic.issue_card(*patient))?;
            write_card(&card, svg.as_deref(), png.as_deref())?;
            out.value(&card);
        }
        CardCommand::Verify { text, image } => {
            let text = scanned(text.as_deref(), image.as_deref())?;
            out.value(&rt.block_on(clinic.verify_card(&text))?)
        }
        CardCommand::Reprint { patient, card, svg, png } => {
            let printable = clinic.card_svg(*patient, card.as_deref())?;
            write_card(&printable, svg.as_deref(), png.as_deref())?;
            out.value(&printable);
        }
        CardCommand::Refresh => {
            rt.block_on(clinic.refresh_cards())?;
            out.value(&serde_json::json!({"refreshed": true, "fetched_at": clinic.cards_fetched_at()?}));
        }
    }
    Ok(())
}

fn appointment(command: &AppointmentCommand, clinic: &Clinic, out: &Out) -> Result<(), ClientError> {
    match command {
        AppointmentCommand::Book {
            patient,
            provider,
            date,
            time,
            duration,
            appointment_type,
            mode,
            reason,
            urgency,
            time_zone,
        } => {
            let f = appointment_fields(serde_json::json!({
                "patient_id": patient, "provider_id": provider, "date": date, "start_time": time,
                "duration_minutes": duration, "appointment_type": appointment_type, "mode": mode,
                "reason": reason, "urgency": urgency, "time_zone": time_zone, "status": "scheduled",
            }))
            .map(|mut f| {
                // Options left out on the command line are not sent at all (rather than cleared).
                if reason.is_none() {
                    f.reason = None;
                }
                if urgency.is_none() {
                    f.urgency = None;
                }
                f
            })?;
            out.appointment(&clinic.book_appointment(f)?)
        }
        AppointmentCommand::List { date, patient } => out.appointments(&clinic.list_appointments(date.as_deref(), *patient)?),
        AppointmentCommand::Show { id } => out.appointment(&clinic.get_appointment(*id)?),
        AppointmentCommand::Reschedule { id, date, time, reason } => {
            let current = clinic.get_appointment(*id)?;
            let f = appointment_fields(serde_json::json!({
                "date": date, "start_time": time, "status": "scheduled",
                "rescheduling": {"previous_date": current.date, "previous_start_time": current.start_time, "reason": reason},
            }))?;
            out.appointment(&clinic.update_appointment(*id, f)?)
        }
        AppointmentCommand::Cancel { id, reason, by } => {
            let now = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let f = appointment_fields(serde_json::json!({
                "status": "cancelled", "cancellation": {"reason": reason, "cancelled_by": by, "cancelled_at": now},
            }))?;
            out.appointment(&clinic.update_appointment(*id, f)?)
        }
        AppointmentCommand::Status { id, status } => {
            let f = appointment_fields(serde_json::json!({"status": status}))?;
            out.appointment(&clinic.update_appointment(*id, f)?)
        }
    }
    Ok(())
}

/// Staff operations on the server, with the administrator's bearer token (`ANOLA_ADMIN_TOKEN`).
pub fn admin(command: &AdminCommand, server: &str, clinic_id: &str, token: Option<&str>, out: &Out) -> Result<(), ClientError> {
    let client = match token {
        Some(t) => AdminClient::with_token(server, clinic_id, t),
        None => AdminClient::new(server, clinic_id),
    };
    let rt = runtime()?;
    match command {
        AdminCommand::PutProvider { provider: json } => {
            let text = match json.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path).map_err(|e| ClientError::Internal {
                    message: format!("{path}: {e}"),
                })?,
                None => json.clone(),
            };
            let p: anola_protocol::Provider = serde_json::from_str(&text).map_err(|e| ClientError::ValidationFailed {
                message: format!("provider JSON: {e}"),
                errors: vec![anola_protocol::FieldError {
                    field: "provider".into(),
                    code: "invalid_value".into(),
                    message: e.to_string(),
                    mutation_index: None,
                }],
            })?;
            out.value(&rt.block_on(client.put_provider(&p))?)
        }
        AdminCommand::Duplicates => out.conflicts(&rt.block_on(client.merge_candidates())?),
        AdminCommand::Merge { survivor, duplicate, by } => out.value(&rt.block_on(client.merge(*survivor, *duplicate, by))?),
        AdminCommand::Conflicts => out.conflicts(&rt.block_on(client.conflicts())?),
        AdminCommand::Resync => out.value(&rt.block_on(client.resync())?),
        AdminCommand::LedgerAudit => {
            let report = rt.block_on(client.ledger_audit())?;
            out.value(&report);
            if !report.ok {
                return Err(ClientError::Internal {
                    message: format!("the ledger audit found {} problem(s)", report.violations.len()),
                });
            }
        }
    }
    Ok(())
}
