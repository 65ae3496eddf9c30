//! Command-line arguments.

use anola_client::ClientError;
use anola_protocol::{FieldError, PatientFields};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "anola", version, about = "Anola Health clinic engine, headless")]
pub struct Cli {
    /// Directory holding this device's replica.
    #[arg(long, env = "ANOLA_DATA_DIR", default_value = ".data/device", global = true)]
    pub data_dir: PathBuf,
    /// Sync server base URL.
    #[arg(long, env = "ANOLA_SERVER_URL", default_value = "http://127.0.0.1:8787", global = true)]
    pub server: String,
    /// Allow plain http:// to a server other than this machine (development only).
    #[arg(long, env = "ANOLA_ALLOW_INSECURE_HTTP", global = true, value_parser = clap::builder::FalseyValueParser::new())]
    pub allow_insecure_http: bool,
    /// Ignored: the clinic comes from the device's enrolment (kept for old scripts; `admin`
    /// commands on a device that is not enrolled use it).
    #[arg(long = "clinic", env = "ANOLA_CLINIC_ID", default_value = "main", global = true, hide = true)]
    pub clinic_id: String,
    /// Ignored: the field worker comes from the device's enrolment (kept for old scripts).
    #[arg(long = "field-worker", env = "ANOLA_FIELD_WORKER_ID", global = true, hide = true)]
    pub field_worker_id: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Enrol this device in a clinic with a single-use code from a clinic administrator, then
    /// sign in (ANOLA_USERNAME, ANOLA_PASSWORD, optional ANOLA_TOTP).
    Enrol {
        #[arg(long)]
        code: String,
        /// A name staff recognise, e.g. "Front desk laptop 2".
        #[arg(long)]
        name: String,
    },
    /// This device's enrolment, known staff and notices (no sign-in needed).
    Device,
    /// Who viewed or changed a patient's data on this device (clinic administrators).
    AccessHistory {
        #[arg(long)]
        patient: Uuid,
    },
    /// Register, change, show and find patients.
    Patient {
        #[command(subcommand)]
        command: Box<PatientCommand>,
    },
    /// Book, list, reschedule and cancel appointments.
    Appointment {
        #[command(subcommand)]
        command: Box<AppointmentCommand>,
    },
    /// Write, amend and list medical records (append-only).
    Record {
        #[command(subcommand)]
        command: Box<RecordCommand>,
    },
    /// Providers of this clinic (maintained on the server).
    Providers,
    /// Conflict notes the server sent: overwritten values, taken slots, duplicates, amendments.
    Conflicts {
        /// Only notes about this patient, appointment or record.
        #[arg(long)]
        about: Option<Uuid>,
    },
    /// Staff operations on the server (providers, duplicate merges, resync).
    Admin {
        #[command(subcommand)]
        command: Box<AdminCommand>,
    },
    /// Push local changes, then pull everyone else's (progress on stderr).
    Sync {
        /// Stop after this many pull pages; the next sync resumes where this one stopped.
        #[arg(long)]
        max_pages: Option<u64>,
        /// Run this many rounds back to back (the last is reported as `report`, all as `rounds`):
        /// the second of two shows what an idle round costs.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
        rounds: u32,
    },
    /// Online/offline, pending changes, last successful sync, last error.
    Status,
    /// Changes the server refused for good, with the reason.
    Rejected,
    /// Money: wallets, the price list, charging (online or offline), deposits, refunds,
    /// receipts, offline allowances and the cashier's day-close.
    Wallet {
        #[command(subcommand)]
        command: Box<WalletCommand>,
    },
    /// Health cards: issue (online) and print, verify a scan offline.
    Card {
        #[command(subcommand)]
        command: Box<CardCommand>,
    },
    /// Check a patient in by their card (QR text or fallback code), offline if need be: today's
    /// appointment is marked checked in, or a walk-in is created; prints the queue number.
    CheckIn {
        /// The scanned QR text (`shc:/…`) or the typed fallback code (`1234-5678-9012`).
        #[arg(required_unless_present = "image")]
        text: Option<String>,
        /// Read the card from a picture instead (PNG or JPEG: a photo of the printed card).
        #[arg(long, conflicts_with = "text")]
        image: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// The patient's sponsorships: the sponsor (unless anonymous), what is covered, what is left.
    /// Offline: the terms this device keeps with its allowances.
    Sponsorships {
        #[arg(long)]
        patient: String,
    },
    /// What the patient's sponsorships would pay of a bill with no network (the rule engine on the
    /// terms this device holds), with the reason for each line they pay less of.
    Covered {
        #[arg(long)]
        patient: String,
        /// CODE or CODE:QUANTITY, repeatable.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        #[command(flatten)]
        context: CoverageArgs,
    },
    /// Ask the sponsor to approve planned care ahead (clinicians). Offline it is queued and sent
    /// at the next sync.
    PreApprove {
        #[arg(long)]
        sponsorship: uuid::Uuid,
        #[arg(long)]
        patient: String,
        /// CODE or CODE:QUANTITY, repeatable.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        #[arg(long)]
        provider: Option<String>,
        #[arg(long = "diagnosis")]
        diagnoses: Vec<String>,
        #[arg(long, default_value = "")]
        note: String,
        /// Days the approval stays valid (1–90).
        #[arg(long, default_value_t = 14)]
        valid_days: u32,
    },
    /// Write how a sponsorship's care went (clinicians); the sponsor reads it only while the
    /// patient consents to share stories.
    Story {
        #[arg(long)]
        sponsorship: uuid::Uuid,
        #[arg(long)]
        text: String,
    },
    /// A pre-approval's state (the server's, or as last seen offline); `--patient` lists theirs.
    PreApproval {
        id: Option<uuid::Uuid>,
        #[arg(long)]
        patient: Option<String>,
    },
    /// The price list on this device (`--refresh` fetches it first).
    Prices {
        #[arg(long)]
        refresh: bool,
    },
    /// A patient's wallets, what they owe, their PIN's state and recent history (online), with
    /// this device's allowances and charges for them.
    Show {
        #[arg(long)]
        patient: String,
    },
    /// Open the patient's personal wallet.
    Open {
        #[arg(long)]
        patient: String,
        #[arg(long, default_value = "KES")]
        currency: String,
    },
    /// Set the patient's wallet PIN (4–6 digits; from ANOLA_WALLET_PIN when --pin is absent).
    Pin {
        #[arg(long)]
        patient: String,
        #[arg(long, env = "ANOLA_WALLET_PIN", hide_env_values = true)]
        pin: String,
    },
    /// Money into the patient's personal wallet at the desk (cash into your drawer, or mobile
    /// money with the provider's reference).
    Deposit {
        #[arg(long)]
        patient: String,
        /// e.g. 500.00
        #[arg(long)]
        amount: String,
        #[arg(long)]
        mobile_money: Option<String>,
    },
    /// What each source would pay for a bill now.
    Quote {
        #[arg(long)]
        patient: String,
        /// CODE or CODE:QUANTITY, repeatable.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        /// Include personal funds (the patient consents).
        #[arg(long)]
        personal: bool,
        #[command(flatten)]
        context: CoverageArgs,
    },
    /// Charge a bill: online by the server's waterfall (the desk takes what it leaves, in cash
    /// unless --owed), or with --offline from this device's allowances, then --cash, then owed.
    Charge {
        #[arg(long)]
        patient: String,
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        /// The patient's wallet PIN: they agree to pay from personal funds.
        #[arg(long, env = "ANOLA_WALLET_PIN", hide_env_values = true)]
        pin: Option<String>,
        /// Offline: the cash the desk took.
        #[arg(long)]
        cash: Option<String>,
        /// Online: what wallets do not cover is owed, not taken at the desk.
        #[arg(long)]
        owed: bool,
        #[arg(long)]
        offline: bool,
        /// Write the receipt as PNG (203 dpi) here.
        #[arg(long)]
        png: Option<std::path::PathBuf>,
        #[command(flatten)]
        context: CoverageArgs,
    },
    /// Refund a charge whole (clinic administrators; the cashier who took it may void it the
    /// same day as duplicate_charge or entered_in_error).
    Refund {
        #[arg(long)]
        charge: Uuid,
        /// duplicate_charge, wrong_amount, service_not_given, patient_request, entered_in_error
        #[arg(long)]
        reason: String,
    },
    /// A charge's receipt (kept on this device, or from the server).
    Receipt {
        #[arg(long)]
        charge: Uuid,
        #[arg(long)]
        svg: Option<std::path::PathBuf>,
        #[arg(long)]
        png: Option<std::path::PathBuf>,
    },
    /// Reserve offline allowances of these patients' wallets for this device.
    Reserve {
        #[arg(long = "patient", required = true)]
        patients: Vec<String>,
        /// Most per wallet, e.g. 5000.00
        #[arg(long, default_value = "5000.00")]
        total: String,
        #[arg(long, default_value = "2500.00")]
        per_charge: String,
        #[arg(long, default_value_t = 5)]
        count: u32,
        #[arg(long, default_value_t = 36)]
        hours: u32,
        /// The patient's wallet PIN: also reserve from their personal wallet (one patient).
        #[arg(long)]
        pin: Option<String>,
    },
    /// Return allowances to their wallets (expired ones, or --all) once offline charges settled.
    Return {
        #[arg(long)]
        all: bool,
    },
    /// Send the charges made offline now (every sync does it too).
    Settle,
    /// Your cash drawer: what the ledger expects in it, and past day-closes.
    Drawer,
    /// Close your drawer for the day with the cash counted.
    Close {
        #[arg(long)]
        counted: String,
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Issue a new card for a patient already synced to the server (earlier cards are revoked).
    Issue {
        #[arg(long)]
        patient: Uuid,
        /// Also write the printable ID-1 card (SVG, millimetres) to this file.
        #[arg(long)]
        svg: Option<std::path::PathBuf>,
        /// Also write it as a PNG at 300 dpi (1011 x 638 pixels) to this file.
        #[arg(long)]
        png: Option<std::path::PathBuf>,
    },
    /// Verify a scanned card or a typed fallback code offline and show its patient.
    Verify {
        /// The scanned QR text (`shc:/…`) or the typed fallback code.
        #[arg(required_unless_present = "image")]
        text: Option<String>,
        /// Read the card from a picture instead (PNG or JPEG: a photo of the printed card).
        #[arg(long, conflicts_with = "text")]
        image: Option<std::path::PathBuf>,
    },
    /// Reprint a card issued on this device (the patient's current one unless --card).
    Reprint {
        #[arg(long)]
        patient: Uuid,
        #[arg(long)]
        card: Option<String>,
        /// Write the card as SVG (millimetres) to this file.
        #[arg(long, required_unless_present = "png")]
        svg: Option<std::path::PathBuf>,
        /// Write the card as PNG at 300 dpi to this file.
        #[arg(long)]
        png: Option<std::path::PathBuf>,
    },
    /// Download the card keys, revocations and fallback codes now (every sync does it too).
    Refresh,
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
    /// Delete a patient (a tombstone every device receives).
    Delete {
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
                _ => return Err(invalid("fields_json", "malformed_json", "must be a JSON object".into())),
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
                return Err(invalid(f, "invalid_request", "--clear only applies to edit".into()));
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

#[derive(Debug, Subcommand)]
pub enum AppointmentCommand {
    /// Book an appointment (the server confirms the slot at the next sync).
    Book {
        #[arg(long)]
        patient: Uuid,
        #[arg(long)]
        provider: Uuid,
        /// YYYY-MM-DD
        #[arg(long)]
        date: String,
        /// HH:MM
        #[arg(long)]
        time: String,
        #[arg(long, default_value_t = 30)]
        duration: u32,
        /// consultation, follow_up, emergency, routine_checkup, vaccination, lab_test, procedure
        #[arg(long = "type", default_value = "consultation")]
        appointment_type: String,
        /// in_person, video, phone, home_visit
        #[arg(long, default_value = "in_person")]
        mode: String,
        #[arg(long)]
        reason: Option<String>,
        /// low, medium, high, emergency
        #[arg(long)]
        urgency: Option<String>,
        #[arg(long = "tz", default_value = "Africa/Nairobi")]
        time_zone: String,
    },
    /// Appointments of a day or of a patient (all when neither is given).
    List {
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        patient: Option<Uuid>,
    },
    Show {
        id: Uuid,
    },
    /// Move an appointment to another time (the server checks the new slot).
    Reschedule {
        id: Uuid,
        #[arg(long)]
        date: String,
        #[arg(long)]
        time: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Cancel (kept as history).
    Cancel {
        id: Uuid,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        by: Option<String>,
    },
    /// Set the status: confirmed, checked_in, in_progress, completed, no_show.
    Status {
        id: Uuid,
        status: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Write a new record for a patient.
    Add {
        #[arg(long)]
        patient: Uuid,
        #[command(flatten)]
        content: RecordArgs,
    },
    /// Amend a record version: a new version; the old one stays.
    Amend {
        /// The version being amended.
        version: Uuid,
        #[command(flatten)]
        content: RecordArgs,
    },
    /// Every version of every record of a patient.
    List {
        #[arg(long)]
        patient: Uuid,
    },
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    // No --author: a record's author is the signed-in staff member who signs it (ADR 0014).
    #[arg(long)]
    pub notes: Option<String>,
    #[arg(long)]
    pub plan: Option<String>,
    /// CODE or CODE:description (repeatable), e.g. --diagnosis "I10:Essential hypertension".
    #[arg(long = "diagnosis")]
    pub diagnoses: Vec<String>,
    /// Any other record fields as JSON, e.g. '{"vitals": {"systolic_mmhg": 150}}'.
    #[arg(long)]
    pub fields_json: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create or replace a provider from JSON (see anola_protocol::Provider).
    PutProvider {
        /// The provider as JSON, or @FILE.
        provider: String,
    },
    /// Open merge candidates (possible duplicate registrations).
    Duplicates,
    /// Merge a duplicate registration into the surviving patient.
    Merge {
        #[arg(long)]
        survivor: Uuid,
        #[arg(long)]
        duplicate: Uuid,
        #[arg(long)]
        by: String,
    },
    /// Every conflict note of the clinic, from the server.
    Conflicts,
    /// Make every device of the clinic re-pull everything at its next sync.
    Resync,
    /// Replay the money ledger and check every invariant (platform administrators); exits 1 when
    /// anything is wrong.
    LedgerAudit,
}

impl RecordArgs {
    pub fn to_fields(&self, patient: Uuid) -> Result<anola_protocol::RecordFields, ClientError> {
        let mut obj = match &self.fields_json {
            Some(j) => match serde_json::from_str::<serde_json::Value>(j) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => return Err(invalid("fields_json", "malformed_json", "must be a JSON object".into())),
            },
            None => serde_json::Map::new(),
        };
        // Filled in by the store (ids, clinic); placeholders satisfy the typed parse.
        obj.insert("record_id".into(), serde_json::json!(Uuid::nil()));
        obj.insert("patient_id".into(), serde_json::json!(patient));
        obj.insert("clinic_id".into(), serde_json::json!("-"));
        // Replaced by the store with the signed-in account's name.
        obj.insert("author".into(), serde_json::json!("-"));
        if let Some(n) = &self.notes {
            obj.insert("consultation_notes".into(), serde_json::json!(n));
        }
        if let Some(p) = &self.plan {
            obj.insert("plan".into(), serde_json::json!(p));
        }
        if !self.diagnoses.is_empty() {
            let list: Vec<serde_json::Value> = self
                .diagnoses
                .iter()
                .map(|d| match d.split_once(':') {
                    Some((code, desc)) => serde_json::json!({"code": code, "description": desc}),
                    None => serde_json::json!({"code": d}),
                })
                .collect();
            obj.insert("diagnoses".into(), serde_json::Value::Array(list));
        }
        serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| invalid("fields", "invalid_value", e.to_string()))
    }
}

/// What sponsorships judge a bill by (docs/sponsorship.md).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CoverageArgs {
    /// The provider who gave the care.
    #[arg(long)]
    pub provider: Option<String>,
    /// A diagnosis code of the visit (ICD-10), repeatable.
    #[arg(long = "diagnosis")]
    pub diagnoses: Vec<String>,
    /// An approved pre-approval the charge posts against.
    #[arg(long)]
    pub pre_approval: Option<uuid::Uuid>,
}

impl CoverageArgs {
    pub fn context(&self) -> anola_client::clinic_money::ChargeContext {
        anola_client::clinic_money::ChargeContext {
            provider: self.provider.clone(),
            diagnoses: self.diagnoses.clone(),
            pre_approval: self.pre_approval,
        }
    }
}
