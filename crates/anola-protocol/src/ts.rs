//! The UI's TypeScript for this crate, generated so the app and the portal never hold a hand-made
//! copy: wire types (via ts-rs), the role matrix (`access.rs` evaluated for every role, kind and
//! known field), and the shared limits. `ui/src/generated/protocol.ts` is this function's output;
//! a test fails when it is stale (`ANOLA_WRITE_GENERATED=1 cargo test -p anola-protocol generated`
//! rewrites it).

use crate::access::{may_read, may_write, Role, ALL_ROLES};
use crate::wire::EntityKind;
use ts_rs::TS;

const KINDS: [EntityKind; 8] = [
    EntityKind::Patient,
    EntityKind::Appointment,
    EntityKind::MedicalRecord,
    EntityKind::Provider,
    EntityKind::Conflict,
    EntityKind::Merge,
    EntityKind::Staff,
    EntityKind::Card,
];

/// A field name no record has: what the matrix answers for fields it does not list.
const OTHER: &str = "\u{0}other";

/// Every field name the access rules or the records know: the matrix answers for each of them,
/// and `other…` for any name outside (the rules depend only on membership in these lists).
fn all_fields() -> Vec<&'static str> {
    use crate::access::*;
    let mut v: Vec<&'static str> = crate::patient::PATIENT_FIELD_NAMES
        .iter()
        .chain(crate::appointment::APPOINTMENT_FIELD_NAMES)
        .chain(CLINICAL_PATIENT_FIELDS)
        .chain(CLINICAL_APPOINTMENT_FIELDS)
        .chain(KIOSK_PATIENT_FIELDS)
        .chain(KIOSK_APPOINTMENT_FIELDS)
        .copied()
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn decl<T: TS>() -> String {
    format!("export {}\n\n", T::decl())
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", "))
}

fn role_matrix() -> String {
    let mut s = String::from(
        "/** Who may read and write what (crates/anola-protocol/src/access.rs, evaluated for every role and kind).\n \
         * `read`/`write`: the record itself; `otherRead`/`otherWrite`: the answer for a field, except for the fields\n \
         * in `exceptRead`/`exceptWrite`, whose answer is the opposite. */\n\
         export interface Access {\n  read: boolean;\n  write: boolean;\n  otherRead: boolean;\n  otherWrite: boolean;\n  exceptRead: readonly string[];\n  exceptWrite: readonly string[];\n}\n\n\
         export const ACCESS: Record<Role, Record<EntityKind, Access>> = {\n",
    );
    let fields = all_fields();
    for role in ALL_ROLES {
        s.push_str(&format!("  {}: {{\n", role.as_str()));
        for kind in KINDS {
            let (other_read, other_write) = (may_read(*role, kind, Some(OTHER)), may_write(*role, kind, Some(OTHER)));
            let except = |f: fn(Role, EntityKind, Option<&str>) -> bool, other: bool| {
                list(fields.iter().filter(|x| f(*role, kind, Some(x)) != other).map(|x| x.to_string()))
            };
            s.push_str(&format!(
                "    {}: {{ read: {}, write: {}, otherRead: {other_read}, otherWrite: {other_write}, exceptRead: {}, exceptWrite: {} }},\n",
                kind.as_str(),
                may_read(*role, kind, None),
                may_write(*role, kind, None),
                except(may_read, other_read),
                except(may_write, other_write),
            ));
        }
        s.push_str("  },\n");
    }
    s.push_str("};\n\n");
    s
}

fn constants() -> String {
    use crate::access::*;
    let strs = |v: &[&str]| list(v.iter().map(|x| x.to_string()));
    let mut s = String::new();
    let mut num = |name: &str, doc: &str, v: String| s.push_str(&format!("/** {doc} */\nexport const {name} = {v};\n"));
    num(
        "PROTOCOL_VERSION",
        "The sync protocol version this build speaks (wire.rs).",
        crate::wire::PROTOCOL_VERSION.to_string(),
    );
    num(
        "MAX_TEXT",
        "Longest short text field, in characters (validate.rs).",
        crate::validate::MAX_TEXT.to_string(),
    );
    num(
        "MAX_LONG_TEXT",
        "Longest long text field (notes, plan), in characters.",
        crate::validate::MAX_LONG_TEXT.to_string(),
    );
    num("MAX_LIST", "Most entries in a list field.", crate::validate::MAX_LIST.to_string());
    num(
        "SLOT_BLOCK_MINUTES",
        "Appointments start and last in blocks of this many minutes (appointment.rs).",
        crate::appointment::SLOT_BLOCK_MINUTES.to_string(),
    );
    num(
        "MAX_DURATION_MINUTES",
        "Longest appointment.",
        crate::appointment::MAX_DURATION_MINUTES.to_string(),
    );
    num(
        "SILENT_AFTER_HOURS",
        "The fleet view flags a device with no sync for this long (portal.rs).",
        crate::portal::SILENT_AFTER_HOURS.to_string(),
    );
    num(
        "CSRF_HEADER",
        "The header that carries the CSRF token on state-changing portal requests.",
        format!("'{}'", crate::portal::CSRF_HEADER),
    );
    num(
        "CSRF_COOKIE",
        "The cookie the CSRF token is read from.",
        format!("'{}'", crate::portal::CSRF_COOKIE),
    );
    num(
        "CLINICAL_PATIENT_FIELDS",
        "Patient fields that are clinical: hidden from front desk and kiosk.",
        strs(CLINICAL_PATIENT_FIELDS),
    );
    num(
        "CLINICAL_APPOINTMENT_FIELDS",
        "Appointment fields that are clinical.",
        strs(CLINICAL_APPOINTMENT_FIELDS),
    );
    num(
        "KIOSK_PATIENT_FIELDS",
        "What a kiosk may read of a patient.",
        strs(KIOSK_PATIENT_FIELDS),
    );
    num(
        "KIOSK_APPOINTMENT_FIELDS",
        "What a kiosk may read of an appointment.",
        strs(KIOSK_APPOINTMENT_FIELDS),
    );
    num(
        "ALL_ROLES",
        "Every staff role.",
        format!("{} as const", list(ALL_ROLES.iter().map(|r| r.as_str().to_string()))),
    );
    s.push('\n');
    s
}

/// Sponsors, sponsorships, the rule engine's answers and the report (`anola_ledger::book::sponsor`
/// and `crate::sponsor`), with the engine's reason codes and what they mean.
fn sponsorship() -> String {
    use crate::sponsor::*;
    use anola_ledger::book::sponsor::report::{Bucket, Report, Row};
    use anola_ledger::book::sponsor::*;
    let mut s = String::new();
    s.push_str(&decl::<anola_ledger::book::ItemKind>());
    s.push_str(&decl::<anola_ledger::book::Line>());
    s.push_str(&decl::<SponsorKind>());
    s.push_str(&decl::<ReportFrequency>());
    s.push_str(&decl::<Preferences>());
    s.push_str(&decl::<ReportPrefs>());
    s.push_str(&decl::<Sponsor>());
    s.push_str(&decl::<SponsorshipKind>());
    s.push_str(&decl::<Recurrence>());
    s.push_str(&decl::<Status>());
    s.push_str(&decl::<StatusChange>());
    s.push_str(&decl::<Coverage>());
    s.push_str(&decl::<Caps>());
    s.push_str(&decl::<Reason>());
    s.push_str(&decl::<rules::LineAnswer>());
    s.push_str(&decl::<Answer>());
    s.push_str(&decl::<PreApprovalState>());
    s.push_str(&decl::<Notice>());
    s.push_str(&decl::<Bucket>());
    s.push_str(&decl::<Row>());
    s.push_str(&decl::<Report>());
    s.push_str(&decl::<SponsorHome>());
    s.push_str(&decl::<SponsorDeposit>());
    s.push_str(&decl::<SponsorFunding>());
    s.push_str(&decl::<BankDeposit>());
    s.push_str(&decl::<NewSponsorship>());
    s.push_str(&decl::<StatusRequest>());
    s.push_str(&decl::<SponsorshipView>());
    s.push_str(&decl::<PreApprovalView>());
    s.push_str(&decl::<PreApprovalDecision>());
    s.push_str(&decl::<NewPreApproval>());
    s.push_str(&decl::<SponsoredCover>());
    s.push_str(&decl::<Covered>());
    s.push_str(&decl::<Story>());
    s.push_str(&decl::<Programme>());
    s.push_str(&decl::<NewStory>());
    s.push_str(&decl::<StoryView>());
    s.push_str(&decl::<SponsorStories>());
    s.push_str(&decl::<crate::money::Eligibility>());
    s.push_str(&format!(
        "/** The coverage rule engine's version (answers record it). */\nexport const RULES_VERSION = {};\n\n",
        RULES_VERSION
    ));
    s.push_str("/** What each reason code means, as the front desk tells the patient. */\nexport const REASON_TEXT: Record<CoverageReason, string> = {\n");
    for r in Reason::ALL {
        s.push_str(&format!("  {}: {:?},\n", r.code(), r.describe()));
    }
    s.push_str("};\n\n");
    s
}

pub fn typescript() -> String {
    use crate::auth::*;
    use crate::portal::*;
    use crate::provider::*;
    let mut s = String::from(
        "// Generated from crates/anola-protocol by its tests (ANOLA_WRITE_GENERATED=1 cargo test -p anola-protocol generated).\n// Do not edit: change the Rust and regenerate.\n\n",
    );
    s.push_str(&decl::<Role>());
    s.push_str(&decl::<crate::access::UserType>());
    s.push_str(&decl::<EntityKind>());
    s.push_str(&decl::<SessionUser>());
    s.push_str(&decl::<DeviceInfo>());
    s.push_str(&decl::<EnrolmentCode>());
    s.push_str(&decl::<NewEnrolmentCode>());
    s.push_str(&decl::<NewUser>());
    s.push_str(&decl::<TotpSetup>());
    s.push_str(&decl::<Weekday>());
    s.push_str(&decl::<crate::appointment::ConsultationMode>());
    s.push_str(&decl::<Service>());
    s.push_str(&decl::<Availability>());
    s.push_str(&decl::<Vacation>());
    s.push_str(&decl::<crate::Provider>());
    s.push_str(&decl::<DeviceReport>());
    s.push_str(&decl::<FleetDevice>());
    s.push_str(&decl::<ActivityBucket>());
    s.push_str(&decl::<FleetView>());
    s.push_str(&decl::<PortalSession>());
    s.push_str(&decl::<PasswordReset>());
    s.push_str(&decl::<DeviceRename>());
    s.push_str(&decl::<EnrolmentCodeView>());
    s.push_str(&decl::<NewPatientAccount>());
    s.push_str(&decl::<Consents>());
    s.push_str(&decl::<PatientSelf>());
    s.push_str(&decl::<PatientAppointment>());
    s.push_str(&decl::<SharedRecord>());
    s.push_str(&decl::<PatientWallet>());
    s.push_str(&decl::<PatientReceipt>());
    s.push_str(&decl::<PatientMoney>());
    s.push_str(&decl::<CancelAppointment>());
    s.push_str(&sponsorship());
    s.push_str(&constants());
    s.push_str(&role_matrix());
    s
}

#[cfg(test)]
mod generated {
    #[test]
    fn generated_ts_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/generated/protocol.ts");
        let want = super::typescript();
        if std::env::var_os("ANOLA_WRITE_GENERATED").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert_eq!(
            have, want,
            "ui/src/generated/protocol.ts is stale: run ANOLA_WRITE_GENERATED=1 cargo test -p anola-protocol generated"
        );
    }
}
