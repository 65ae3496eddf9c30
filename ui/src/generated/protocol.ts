// Generated from crates/anola-protocol by its tests (ANOLA_WRITE_GENERATED=1 cargo test -p anola-protocol generated).
// Do not edit: change the Rust and regenerate.

export type Role = "front_desk" | "clinician" | "field_worker" | "clinic_admin" | "kiosk";

export type UserType = "patient" | "provider" | "sponsor" | "vendor" | "admin";

export type EntityKind = "patient" | "appointment" | "medical_record" | "provider" | "conflict" | "merge" | "staff" | "card";

export type SessionUser = { id: string, username: string, display_name: string, user_type: UserType, 
/**
 * The staff role; `None` for platform accounts without a clinic role (patients, sponsors…).
 */
role: Role | null, clinic_id: string | null, 
/**
 * For field workers: the id patients are assigned by.
 */
field_worker_id: string | null, 
/**
 * Platform administrator (may act in every clinic).
 */
platform_admin: boolean, totp_enabled: boolean, 
/**
 * Set when an administrator disabled the account (RFC 3339).
 */
disabled_at: string | null, 
/**
 * A patient's own account: the patient record it is linked to (staff link it).
 */
patient_id?: string | null, };

export type DeviceInfo = { device_id: string, name: string, clinic_id: string, role: Role, field_worker_id: string | null, enrolled_at: string, revoked_at: string | null, };

export type EnrolmentCode = { 
/**
 * Single use; shown once to the administrator.
 */
code: string, clinic_id: string, role: Role, expires_at: string, };

export type NewEnrolmentCode = { 
/**
 * The ceiling of what the device may hold and do.
 */
role: Role, 
/**
 * Required for a field-worker device: whose assigned patients it holds.
 */
field_worker_id: string | null, };

export type NewUser = { username: string, password: string, display_name: string, user_type: UserType, role: Role | null, clinic_id: string | null, field_worker_id: string | null, };

export type TotpSetup = { secret_base32: string, otpauth_uri: string, };

export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";

export type ConsultationMode = "in_person" | "video" | "phone" | "home_visit";

export type Service = { name: string, 
/**
 * Integer minor units (cents): money is never a float, and FerretDB has no Decimal128.
 */
price_minor: number, currency: string, };

export type Availability = { day: Weekday, 
/**
 * `HH:MM`
 */
start: string, end: string, };

export type Vacation = { 
/**
 * `YYYY-MM-DD`, inclusive.
 */
from: string, to: string, reason?: string | null, };

export type Provider = { id: string, clinic_id: string, title?: string | null, given_name: string, family_name: string, specializations: Array<string>, services: Array<Service>, weekly_availability: Array<Availability>, vacations: Array<Vacation>, consultation_modes: Array<ConsultationMode>, active: boolean, };

export type DeviceReport = { app_version: string, 
/**
 * Local writes waiting to upload.
 */
pending: number, 
/**
 * Local writes the server refused for good.
 */
rejected: number, 
/**
 * The device's last sync error, if its last round failed.
 */
last_error: string | null, };

export type FleetDevice = { device: DeviceInfo, 
/**
 * Last request that reached the server (RFC 3339).
 */
last_seen_at: string | null, 
/**
 * Last sync request the server answered successfully.
 */
last_sync_at: string | null, pending: number | null, rejected: number | null, app_version: string | null, 
/**
 * The last failure: a refusal the server gave, or the error the device reported.
 */
last_error: string | null, last_error_at: string | null, 
/**
 * Enrolled, not revoked, and no successful sync for `SILENT_AFTER_HOURS`.
 */
silent: boolean, };

export type ActivityBucket = { 
/**
 * Start of the hour (RFC 3339).
 */
hour: string, ok: number, failed: number, };

export type FleetView = { clinic_id: string, generated_at: string, silent_after_hours: number, devices: Array<FleetDevice>, 
/**
 * The last `ACTIVITY_HOURS` hours, oldest first.
 */
activity: Array<ActivityBucket>, };

export type PortalSession = { user: SessionUser, csrf_token: string, 
/**
 * Seconds until the session cookie's token expires (the portal refreshes before that).
 */
expires_in: number, };

export type PasswordReset = { password: string, };

export type DeviceRename = { name: string, };

export type EnrolmentCodeView = { code: EnrolmentCode, qr_svg: string, };

export type NewPatientAccount = { username: string, password: string, };

export type Consents = { 
/**
 * Processing of their data for their care (required to use the clinic's services).
 */
data_processing: boolean, 
/**
 * Sharing their records with other providers in the network.
 */
sharing: boolean, 
/**
 * Contact about research and programmes.
 */
research_contact: boolean, 
/**
 * Their sponsors may read the stories their clinicians write about their care (success
 * stories and outcome updates); withdrawing hides them again at once.
 */
sponsor_stories: boolean, 
/**
 * When they last changed them (RFC 3339); `None` if never.
 */
updated_at: string | null, };

export type PatientSelf = { patient_id: string, given_name: string, family_name: string, date_of_birth: string | null, health_card_id: string | null, clinic_id: string, };

export type PatientAppointment = { id: string, date: string, start_time: string, duration_minutes: number, provider_name: string | null, reason: string | null, status: string, 
/**
 * Upcoming and not cancelled/completed: the patient may cancel it.
 */
cancellable: boolean, };

export type SharedRecord = { id: string, date: string | null, record_type: string | null, summary: string | null, provider_name: string | null, };

export type PatientWallet = { wallet_id: string, 
/**
 * `personal` or `sponsored`.
 */
kind: string, currency: string, 
/**
 * Minor units, and the same formatted.
 */
balance_minor: number, balance: string, };

export type PatientReceipt = { id: string, at: string, total: string, currency: string, items: Array<string>, };

export type PatientMoney = { wallets: Array<PatientWallet>, 
/**
 * Owed to the clinic (formatted), if anything.
 */
owed: string | null, receipts: Array<PatientReceipt>, };

export type CancelAppointment = { reason: string | null, };

export type ItemKind = "consultation" | "procedure" | "lab_test" | "medicine";

export type BillLine = { item: string, quantity: number, 
/**
 * The price the patient was told (minor units): online it must still be the list's price
 * (`price_changed` otherwise); offline it is what the device's copy of the list said.
 */
unit_price: number, };

export type SponsorKind = "individual" | "corporate" | "ngo" | "government" | "foundation" | "religious";

export type ReportFrequency = "weekly" | "monthly" | "quarterly" | "annual";

export type Preferences = { 
/**
 * ISO 3166 country codes the sponsor wants to reach.
 */
countries: Array<string>, 
/**
 * preventive, emergency, chronic, maternal, pediatric, general.
 */
healthcare_types: Array<string>, max_per_patient: number | null, };

export type ReportPrefs = { frequency: ReportFrequency, detailed: boolean, 
/**
 * Show success stories (only those the patient consented to share).
 */
success_stories: boolean, };

export type Sponsor = { id: string, name: string, kind: SponsorKind, 
/**
 * ISO 3166 alpha-2.
 */
country: string, currency: string, 
/**
 * Beneficiaries see "an anonymous sponsor"; the sponsor sees no beneficiary names.
 */
anonymous: boolean, preferences: Preferences, reports: ReportPrefs, 
/**
 * Usernames of administrators who may decide pre-approvals on the sponsor's behalf.
 */
delegates: Array<string>, };

export type SponsorshipKind = "full" | "partial" | "emergency" | "chronic_care" | "preventive" | "medication";

export type Recurrence = "one_time" | "monthly" | "quarterly" | "annual";

export type SponsorshipStatus = "pending" | "active" | "paused" | "expired" | "terminated" | "completed";

export type StatusChange = { status: SponsorshipStatus, at: number, by: string, reason: string, };

export type Coverage = { services: Array<string>, 
/**
 * Provider ids or clinic ids; empty = every provider.
 */
providers: Array<string>, 
/**
 * Diagnosis codes (ICD-10 prefixes, e.g. `B50` covers `B50.9`); empty = any condition.
 */
conditions: Array<string>, excluded: Array<string>, };

export type Caps = { per_transaction: number | null, per_period: number | null, charges_per_period: number | null, 
/**
 * The patient's share of each covered line, in basis points (rounded up: the sponsor never
 * pays more than its share).
 */
co_payment_bps: number, 
/**
 * Bills whose covered amount is above this need an approved pre-approval.
 */
pre_approval_above: number | null, waiting_days: number, };

export type CoverageReason = "not_active" | "not_started" | "expired" | "waiting_period" | "service_not_covered" | "service_excluded" | "provider_out_of_network" | "condition_not_covered" | "co_payment" | "per_transaction_cap" | "period_cap" | "frequency_limit" | "pre_approval_required" | "pre_approval_limit" | "funds_exhausted" | "currency_mismatch";

export type CoverageLine = { asked: number, covered: number, reasons: Array<CoverageReason>, };

export type CoverageAnswer = { version: number, lines: Array<CoverageLine>, approved: number, };

export type PreApprovalState = { "state": "pending" } | { "state": "approved", by: string, at: number, comment: string, amount: number, until: number, answer: CoverageAnswer, } | { "state": "refused", by: string, at: number, comment: string, } | { "state": "used", receipt: string, amount: number, at: number, } | { "state": "released", at: number, reason: string, };

export type SponsorNotice = { id: string, sponsorship: string, 
/**
 * `expiry_reminder`, `renewed`, `expired`, `terminated`, `funds_returned`.
 */
kind: string, 
/**
 * `sponsor`, `beneficiary` or `both`.
 */
to: string, at: number, text: string, };

export type ReportBucket = { key: string, amount: number, };

export type SponsorshipRow = { id: string, 
/**
 * The patient's id, or "Beneficiary N" when the sponsor chose anonymity.
 */
beneficiary: string, programme: string, country: string, kind: SponsorshipKind, status: SponsorshipStatus, allocation: number, funded: number, spent: number, returned: number, held: number, term_end: number, charges: number, };

export type SponsorReport = { sponsor: string, name: string, currency: string, 
/**
 * What the global wallet holds now, and what came into it from outside.
 */
wallet_available: number, deposited: number, allocated: number, spent: number, returned: number, held: number, 
/**
 * allocated − spent − returned − held: zero when the report agrees with the ledger.
 */
difference: number, patients_reached: number, by_month: Array<ReportBucket>, by_category: Array<ReportBucket>, by_provider: Array<ReportBucket>, by_country: Array<ReportBucket>, by_programme: Array<ReportBucket>, sponsorships: Array<SponsorshipRow>, };

export type SponsorHome = { sponsor_id: string, profile: Sponsor | null, wallet: string, available: number, currency: string | null, deposits: Array<SponsorDeposit>, 
/**
 * Pre-approvals waiting for a decision.
 */
pending_pre_approvals: number, 
/**
 * Whether the caller may change the profile and sponsorships (the sponsor or a platform
 * administrator) or only decide pre-approvals (a delegate).
 */
may_manage: boolean, };

export type SponsorDeposit = { id: string, amount: number, reference: string, at: number, };

export type SponsorFunding = { id: string, amount: number, phone: string, };

export type BankDeposit = { id: string, amount: number, reference: string, };

export type NewSponsorship = { id: string, 
/**
 * The patient's id, or their health card number.
 */
patient: string, programme: string, 
/**
 * One of the sponsor's programmes: its name is the sponsorship's programme.
 */
programme_id: string | null, country: string, kind: SponsorshipKind, allocation: number, starts_at: number, ends_at: number, recurrence: Recurrence, max_renewals: number, coverage: Coverage, caps: Caps, note: string, 
/**
 * Fund it and make it active at once (otherwise it waits, pending).
 */
activate: boolean, };

export type StatusRequest = { status: SponsorshipStatus, reason: string, };

export type SponsorshipView = { row: SponsorshipRow, coverage: Coverage, caps: Caps, recurrence: Recurrence, starts_at: number, history: Array<StatusChange>, };

export type PreApprovalView = { id: string, sponsorship: string, beneficiary: string, clinic: string, provider: string | null, lines: Array<BillLine>, diagnoses: Array<string>, note: string, asked: number, currency: string, requested_at: number, requested_by: string, state: PreApprovalState, };

export type PreApprovalDecision = { approve: boolean, comment: string, };

export type NewPreApproval = { id: string, sponsorship: string, patient: string, provider: string | null, lines: Array<BillLine>, diagnoses: Array<string>, note: string, valid_days: number, };

export type SponsoredCover = { sponsorship: string, sponsor: string | null, programme: string, kind: SponsorshipKind, status: SponsorshipStatus, currency: string, available: number, term_end: number, coverage: Coverage, caps: Caps, };

export type Covered = { sponsorship: string, account: string, answer: CoverageAnswer, };

export type Story = { id: string, sponsorship: string, text: string, by: string, at: number, };

export type Programme = { 
/**
 * Client-chosen.
 */
id: string, 
/**
 * Filled by the server from the caller.
 */
sponsor: string, name: string, description: string, 
/**
 * Countries it serves (ISO 3166 alpha-2); empty = any.
 */
countries: Array<string>, kind: SponsorshipKind, 
/**
 * Per beneficiary, minor units.
 */
allocation: number, 
/**
 * Length of the first term in days.
 */
term_days: number, recurrence: Recurrence, coverage: Coverage, caps: Caps, 
/**
 * A closed programme takes no new sponsorships.
 */
open: boolean, };

export type NewStory = { id: string, text: string, };

export type StoryView = { id: string, sponsorship: string, beneficiary: string, programme: string, text: string, at: number, };

export type SponsorStories = { 
/**
 * The sponsor's report preference (`reports.success_stories`).
 */
enabled: boolean, stories: Array<StoryView>, 
/**
 * Stories written but not shown because the patient has not consented.
 */
withheld: number, };

export type Eligibility = { sponsorship: string, 
/**
 * The sponsor's name, or `None` when the sponsor is anonymous.
 */
sponsor: string | null, programme: string, kind: SponsorshipKind, status: SponsorshipStatus, currency: string, starts_at: number, term_end: number, coverage: Coverage, caps: Caps, rules_version: number, };

/** The coverage rule engine's version (answers record it). */
export const RULES_VERSION = 1;

/** What each reason code means, as the front desk tells the patient. */
export const REASON_TEXT: Record<CoverageReason, string> = {
  not_active: "the sponsorship is not active (pending, paused or ended)",
  not_started: "the sponsorship has not started yet",
  expired: "the sponsorship's term has ended",
  waiting_period: "still in the waiting period after the start",
  service_not_covered: "this service is not covered",
  service_excluded: "this service is excluded",
  provider_out_of_network: "this provider is outside the sponsor's network",
  condition_not_covered: "the visit's diagnosis is not a covered condition",
  co_payment: "the patient's co-payment share",
  per_transaction_cap: "above the most per charge",
  period_cap: "above what this month's cap leaves",
  frequency_limit: "this month's number of covered charges is used up",
  pre_approval_required: "above the pre-approval threshold: needs an approved pre-approval",
  pre_approval_limit: "above the approved pre-approval's amount",
  funds_exhausted: "above what the sponsorship still holds",
  currency_mismatch: "the bill is in another currency",
};

/** The sync protocol version this build speaks (wire.rs). */
export const PROTOCOL_VERSION = 3;
/** Longest short text field, in characters (validate.rs). */
export const MAX_TEXT = 200;
/** Longest long text field (notes, plan), in characters. */
export const MAX_LONG_TEXT = 20000;
/** Most entries in a list field. */
export const MAX_LIST = 50;
/** Appointments start and last in blocks of this many minutes (appointment.rs). */
export const SLOT_BLOCK_MINUTES = 15;
/** Longest appointment. */
export const MAX_DURATION_MINUTES = 480;
/** The fleet view flags a device with no sync for this long (portal.rs). */
export const SILENT_AFTER_HOURS = 24;
/** The header that carries the CSRF token on state-changing portal requests. */
export const CSRF_HEADER = 'x-csrf-token';
/** The cookie the CSRF token is read from. */
export const CSRF_COOKIE = 'anola_csrf';
/** Patient fields that are clinical: hidden from front desk and kiosk. */
export const CLINICAL_PATIENT_FIELDS = ['blood_type', 'allergies', 'chronic_conditions'];
/** Appointment fields that are clinical. */
export const CLINICAL_APPOINTMENT_FIELDS = ['symptoms'];
/** What a kiosk may read of a patient. */
export const KIOSK_PATIENT_FIELDS = ['given_name', 'family_name', 'health_card_id', 'clinic_id', 'deleted', 'merged_into'];
/** What a kiosk may read of an appointment. */
export const KIOSK_APPOINTMENT_FIELDS = ['patient_id', 'provider_id', 'clinic_id', 'date', 'start_time', 'duration_minutes', 'time_zone', 'status', 'deleted'];
/** Every staff role. */
export const ALL_ROLES = ['front_desk', 'clinician', 'field_worker', 'clinic_admin', 'kiosk'] as const;

/** Who may read and write what (crates/anola-protocol/src/access.rs, evaluated for every role and kind).
 * `read`/`write`: the record itself; `otherRead`/`otherWrite`: the answer for a field, except for the fields
 * in `exceptRead`/`exceptWrite`, whose answer is the opposite. */
export interface Access {
  read: boolean;
  write: boolean;
  otherRead: boolean;
  otherWrite: boolean;
  exceptRead: readonly string[];
  exceptWrite: readonly string[];
}

export const ACCESS: Record<Role, Record<EntityKind, Access>> = {
  front_desk: {
    patient: { read: true, write: true, otherRead: true, otherWrite: true, exceptRead: ['allergies', 'blood_type', 'chronic_conditions'], exceptWrite: ['allergies', 'blood_type', 'chronic_conditions'] },
    appointment: { read: true, write: true, otherRead: true, otherWrite: true, exceptRead: ['symptoms'], exceptWrite: ['symptoms'] },
    medical_record: { read: false, write: false, otherRead: false, otherWrite: false, exceptRead: [], exceptWrite: [] },
    provider: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    conflict: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    merge: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    staff: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    card: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
  },
  clinician: {
    patient: { read: true, write: true, otherRead: true, otherWrite: true, exceptRead: [], exceptWrite: [] },
    appointment: { read: true, write: true, otherRead: true, otherWrite: true, exceptRead: [], exceptWrite: [] },
    medical_record: { read: true, write: true, otherRead: true, otherWrite: true, exceptRead: [], exceptWrite: [] },
    provider: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    conflict: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    merge: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    staff: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    card: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
  },
  field_worker: {
    patient: { read: true, write: true, otherRead: true, otherWrite: true, exceptRead: [], exceptWrite: [] },
    appointment: { read: true, write: true, otherRead: true, otherWrite: true, exceptRead: [], exceptWrite: [] },
    medical_record: { read: true, write: true, otherRead: true, otherWrite: true, exceptRead: [], exceptWrite: [] },
    provider: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    conflict: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    merge: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    staff: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    card: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
  },
  clinic_admin: {
    patient: { read: true, write: true, otherRead: true, otherWrite: true, exceptRead: [], exceptWrite: [] },
    appointment: { read: true, write: true, otherRead: true, otherWrite: true, exceptRead: [], exceptWrite: [] },
    medical_record: { read: true, write: true, otherRead: true, otherWrite: true, exceptRead: [], exceptWrite: [] },
    provider: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    conflict: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    merge: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    staff: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    card: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
  },
  kiosk: {
    patient: { read: true, write: false, otherRead: false, otherWrite: false, exceptRead: ['clinic_id', 'deleted', 'family_name', 'given_name', 'health_card_id', 'merged_into'], exceptWrite: [] },
    appointment: { read: true, write: false, otherRead: false, otherWrite: false, exceptRead: ['clinic_id', 'date', 'deleted', 'duration_minutes', 'patient_id', 'provider_id', 'start_time', 'status', 'time_zone'], exceptWrite: ['status'] },
    medical_record: { read: false, write: false, otherRead: false, otherWrite: false, exceptRead: [], exceptWrite: [] },
    provider: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    conflict: { read: false, write: false, otherRead: false, otherWrite: false, exceptRead: [], exceptWrite: [] },
    merge: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    staff: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
    card: { read: true, write: false, otherRead: true, otherWrite: false, exceptRead: [], exceptWrite: [] },
  },
};

