//! Command-line arguments.

use anola_client::ClientError;
use anola_protocol::{FieldError, PatientFields};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "anola",
    version,
    about = "Anola Health clinic engine, headless"
)]
pub struct Cli {
    /// Directory holding this device's replica.
    #[arg(
        long,
        env = "ANOLA_DATA_DIR",
        default_value = ".data/device",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Sync server base URL.
    #[arg(
        long,
        env = "ANOLA_SERVER_URL",
        default_value = "http://127.0.0.1:8787",
        global = true
    )]
    pub server: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register, change, show and find patients.
    Patient {
        #[command(subcommand)]
        command: Box<PatientCommand>,
    },
    /// Push local changes, then pull everyone else's.
    Sync,
    /// Online/offline, pending changes, last successful sync, last error.
    Status,
    /// Changes the server refused for good, with the reason.
    Rejected,
}

#[derive(Debug, Subcommand)]
pub enum PatientCommand {
    /// Register a patient (given name, family name and date of birth are required).
    Add(AddArgs),
    /// Change fields of a patient; --clear FIELD empties an optional field.
    Edit {
        id: Uuid,
        #[command(flatten)]
        fields: FieldArgs,
    },
    Show {
        id: Uuid,
    },
    /// Find patients by name, phone or id; lists recent ones without a query.
    List {
        query: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub fields: FieldArgs,
}

#[derive(Debug, Args)]
pub struct FieldArgs {
    #[arg(long)]
    pub given: Option<String>,
    #[arg(long)]
    pub family: Option<String>,
    #[arg(long)]
    pub middle: Option<String>,
    /// YYYY-MM-DD
    #[arg(long)]
    pub dob: Option<String>,
    /// male, female, other, prefer_not_to_say
    #[arg(long)]
    pub gender: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub national_id: Option<String>,
    #[arg(long)]
    pub health_card_id: Option<String>,
    /// A+, A-, B+, B-, AB+, AB-, O+, O-
    #[arg(long)]
    pub blood_type: Option<String>,
    /// Any other fields as a JSON object, e.g. '{"address": {"city": "Kisumu"}}'.
    #[arg(long)]
    pub fields_json: Option<String>,
    /// Clear an optional field (repeatable), e.g. --clear email.
    #[arg(long = "clear")]
    pub clear: Vec<String>,
}

fn invalid(field: &str, code: &str, message: String) -> ClientError {
    ClientError::ValidationFailed {
        message: format!("{field}: {message}"),
        errors: vec![FieldError {
            field: field.into(),
            code: code.into(),
            message,
            mutation_index: None,
        }],
    }
}

impl FieldArgs {
    /// Builds the mutation's fields through the same typed parse the server uses, so a wrong
    /// value (an unknown gender, say) is refused here with the field's name.
    pub fn to_fields(&self, registering: bool) -> Result<PatientFields, ClientError> {
        let mut obj = match &self.fields_json {
            Some(j) => match serde_json::from_str::<serde_json::Value>(j) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => {
                    return Err(invalid(
                        "fields_json",
                        "malformed_json",
                        "must be a JSON object".into(),
                    ))
                }
            },
            None => serde_json::Map::new(),
        };
        let simple = [
            ("given_name", &self.given),
            ("family_name", &self.family),
            ("middle_name", &self.middle),
            ("date_of_birth", &self.dob),
            ("gender", &self.gender),
            ("phone", &self.phone),
            ("email", &self.email),
            ("national_id", &self.national_id),
            ("health_card_id", &self.health_card_id),
            ("blood_type", &self.blood_type),
        ];
        for (k, v) in simple {
            if let Some(v) = v {
                obj.insert(k.into(), serde_json::Value::String(v.clone()));
            }
        }
        for f in &self.clear {
            if registering {
                return Err(invalid(
                    f,
                    "invalid_request",
                    "--clear only applies to edit".into(),
                ));
            }
            obj.insert(f.clone(), serde_json::Value::Null);
        }
        serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| {
            let msg = e.to_string();
            let field = msg
                .split('`')
                .nth(1)
                .filter(|f| anola_protocol::patient::PATIENT_FIELD_NAMES.contains(f))
                .unwrap_or("fields")
                .to_owned();
            invalid(&field, "invalid_value", msg)
        })
    }
}
