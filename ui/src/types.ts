// Types generated from the Rust (crates/anola-protocol, via ts-rs): never copied by hand.
export type {
  ConsultationMode,
  EntityKind,
  Provider,
  Role,
  SessionUser,
  UserType,
  Weekday,
} from './generated/protocol';
import type { ConsultationMode, EntityKind, Role, SessionUser } from './generated/protocol';

// Shapes of the Tauri backend contract. Keys are snake_case exactly as the backend sends them.

export type Gender = 'male' | 'female' | 'other' | 'prefer_not_to_say';
export type BloodType = 'A+' | 'A-' | 'B+' | 'B-' | 'AB+' | 'AB-' | 'O+' | 'O-';
export type AllergySeverity = 'mild' | 'moderate' | 'severe' | 'life-threatening';
export type ConditionStatus = 'active' | 'managed' | 'resolved';

export const GENDERS: readonly Gender[] = ['male', 'female', 'other', 'prefer_not_to_say'];
export const BLOOD_TYPES: readonly BloodType[] = ['A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-'];
export const ALLERGY_SEVERITIES: readonly AllergySeverity[] = ['mild', 'moderate', 'severe', 'life-threatening'];
export const CONDITION_STATUSES: readonly ConditionStatus[] = ['active', 'managed', 'resolved'];

export interface Address {
  street?: string;
  city?: string;
  state?: string;
  country?: string;
  zip_code?: string;
}

export interface EmergencyContact {
  name?: string;
  relationship?: string;
  phone?: string;
}

export interface Allergy {
  allergen: string;
  severity?: AllergySeverity;
  notes?: string;
}

export interface ChronicCondition {
  condition: string;
  status?: ConditionStatus;
  /** YYYY-MM-DD */
  diagnosed_date?: string;
}

export interface Patient {
  id: string;
  given_name: string | null;
  family_name: string | null;
  middle_name: string | null;
  /** YYYY-MM-DD */
  date_of_birth: string | null;
  gender: Gender | null;
  phone: string | null;
  email: string | null;
  national_id: string | null;
  address: Address | null;
  health_card_id: string | null;
  emergency_contact: EmergencyContact | null;
  blood_type: BloodType | null;
  allergies: Allergy[] | null;
  chronic_conditions: ChronicCondition[] | null;
  /** The clinic whose devices hold this patient (set at registration, never changed). */
  clinic_id?: string | null;
  /** The community field worker this patient is assigned to, if any. */
  field_worker_id?: string | null;
  /** Tombstone: the patient was deleted. */
  deleted?: boolean | null;
  /** Set by the server when staff merged this registration into another patient (its id). */
  merged_into?: string | null;
  /** Has local changes not yet acknowledged by the server. */
  pending: boolean;
}

/** Fields the patient form edits; `clinic_id`, `field_worker_id`, `deleted`, `merged_into` are not edited here. */
export type PatientFieldName = Exclude<
  keyof Patient,
  'id' | 'pending' | 'clinic_id' | 'field_worker_id' | 'deleted' | 'merged_into'
>;

/** A partial set of fields: an absent key leaves the field alone, `null` clears it. */
export type PatientFields = Partial<{ [K in PatientFieldName]: Patient[K] }>;

export const PATIENT_FIELD_NAMES: readonly PatientFieldName[] = [
  'given_name',
  'family_name',
  'middle_name',
  'date_of_birth',
  'gender',
  'phone',
  'email',
  'national_id',
  'address',
  'health_card_id',
  'emergency_contact',
  'blood_type',
  'allergies',
  'chronic_conditions',
];

/** A write the server refused for good: set aside on this device, never applied. */
export interface RejectedWrite {
  mutation_id: string;
  /** patient, appointment, medical_record, … */
  entity: string;
  entity_id: string;
  /** create, update or delete */
  op: string;
  /** Stable code: validation_failed, forbidden, too_large, record_immutable, out_of_scope, … */
  code: string;
  message: string;
}

export interface SyncStatus {
  online: boolean;
  syncing: boolean;
  /** Outbox entries waiting to be sent. */
  pending: number;
  /** Changes the server refused for good. */
  rejected: number;
  /** RFC 3339 */
  last_synced_at: string | null;
  last_error: string | null;
  server_url: string;
  device_id: string;
  /** The clinic this device serves. */
  clinic_id: string;
  /** Patients in this device's replica (not shown; optional for older backends). */
  patients?: number;
  /** Conflict notes the server sent. */
  conflicts: number;
  /** While a pull runs (or after one was interrupted): change-log entries done / total. */
  progress: SyncProgress | null;
}

export interface SyncProgress {
  done: number;
  total: number;
}

export interface FieldError {
  /** `given_name`, `address.city`, `allergies[0].allergen`, ... */
  field: string;
  code: string;
  message: string;
}

export type ErrorCode = 'validation_failed' | 'not_found' | 'storage' | 'internal' | (string & {});

/** What a rejected `invoke` carries. */
export interface ApiError {
  /** `card_rejected`: why (a `CardRejectReason`). */
  reason?: string;
  code: ErrorCode;
  message: string;
  errors?: FieldError[];
  /** `forbidden`: what the role may not read or write (a field name, or the kind of record). */
  field?: string;
  /** `account_locked`: when sign-in opens again (RFC 3339). */
  until?: string;
}

// ---------- Appointments ----------

export type AppointmentStatus =
  | 'scheduled'
  | 'confirmed'
  | 'checked_in'
  | 'in_progress'
  | 'completed'
  | 'cancelled'
  | 'no_show'
  | 'rescheduled'
  | 'conflict_needs_rescheduling';

export type AppointmentType =
  | 'consultation'
  | 'follow_up'
  | 'emergency'
  | 'routine_checkup'
  | 'vaccination'
  | 'lab_test'
  | 'procedure';

export type Urgency = 'low' | 'medium' | 'high' | 'emergency';

export const APPOINTMENT_STATUSES: readonly AppointmentStatus[] = [
  'scheduled',
  'confirmed',
  'checked_in',
  'in_progress',
  'completed',
  'cancelled',
  'no_show',
  'rescheduled',
  'conflict_needs_rescheduling',
];
export const APPOINTMENT_TYPES: readonly AppointmentType[] = [
  'consultation',
  'follow_up',
  'emergency',
  'routine_checkup',
  'vaccination',
  'lab_test',
  'procedure',
];
export const CONSULTATION_MODES: readonly ConsultationMode[] = ['in_person', 'video', 'phone', 'home_visit'];
export const URGENCIES: readonly Urgency[] = ['low', 'medium', 'high', 'emergency'];

export interface Cancellation {
  reason?: string;
  cancelled_by?: string;
  /** RFC 3339 */
  cancelled_at?: string;
}

export interface Rescheduling {
  previous_date?: string;
  previous_start_time?: string;
  reason?: string;
}

export interface SlotConflict {
  reason: string;
  /** The appointment that holds the slot. */
  held_by: string;
}

export interface Appointment {
  id: string;
  patient_id: string | null;
  provider_id: string | null;
  clinic_id: string | null;
  appointment_type: AppointmentType | null;
  mode: ConsultationMode | null;
  reason: string | null;
  symptoms: string[] | null;
  urgency: Urgency | null;
  /** YYYY-MM-DD, in the appointment's time zone. */
  date: string | null;
  /** HH:MM, in the appointment's time zone. */
  start_time: string | null;
  duration_minutes: number | null;
  time_zone: string | null;
  status: AppointmentStatus | null;
  cancellation: Cancellation | null;
  rescheduling: Rescheduling | null;
  /** Set by the server when the slot was taken. */
  conflict: SlotConflict | null;
  deleted: boolean | null;
  pending: boolean;
}

/** A partial set of appointment fields: absent leaves a field alone, `null` clears it. */
export type AppointmentFields = Partial<Omit<Appointment, 'id' | 'pending' | 'conflict' | 'deleted' | 'clinic_id'>>;



// ---------- Medical records ----------

export interface Vitals {
  systolic_mmhg?: number;
  diastolic_mmhg?: number;
  pulse_bpm?: number;
  /** Tenths of a degree Celsius. */
  temperature_dc?: number;
  respiratory_rate?: number;
  spo2_percent?: number;
  /** Grams. */
  weight_g?: number;
  /** Millimetres. */
  height_mm?: number;
}

export interface Diagnosis {
  code: string;
  system?: string;
  description?: string;
}

export interface Order {
  kind: string;
  description: string;
}

export interface Prescription {
  medication: string;
  dose?: string;
  route?: string;
  frequency?: string;
  duration_days?: number;
}

export interface LabResult {
  test: string;
  value?: string;
  unit?: string;
  reference_range?: string;
  /** Metadata of an attached file (the file travels separately). Kept as is when amending. */
  attachment?: { file_name: string; content_type: string; size_bytes: number; sha256?: string };
}

/** One version of a medical record as the UI writes it. */
export interface RecordFields {
  patient_id: string;
  author: string;
  /** Carried through when amending; the backend sets them otherwise. */
  appointment_id?: string;
  provider_id?: string;
  consultation_notes?: string;
  plan?: string;
  vitals?: Vitals;
  diagnoses?: Diagnosis[];
  orders?: Order[];
  prescriptions?: Prescription[];
  lab_results?: LabResult[];
  /** Shown to the patient in their portal. */
  shared_with_patient?: boolean;
}

export interface MedicalRecordVersion extends RecordFields {
  /** The version id. */
  id: string;
  /** The logical record (the first version's id). */
  record_id: string;
  /** The version this one amends; absent or null for the original entry. */
  amends?: string | null;
  clinic_id: string;
  /** Hybrid logical clock: 15-digit ms since epoch, 5-digit counter, node id. */
  hlc: string;
  device_id: string;
}

export type RecordSync = 'synced' | 'pending' | 'refused';

export interface RecordVersionView extends MedicalRecordVersion {
  sync: RecordSync;
  /** A later version amends this one. */
  superseded: boolean;
  /** Another version amends the same one: a clinician must reconcile. */
  concurrent_amendment: boolean;
}

// ---------- Conflict notes ----------

export type ConflictEntity = 'patient' | 'appointment' | 'medical_record';

interface ConflictNoteBase {
  id: string;
  entity: ConflictEntity;
  entity_id: string;
  clinic_id: string;
  /** RFC 3339, server time. */
  detected_at: string;
}

export type ConflictNote = ConflictNoteBase &
  (
    | {
        kind: 'field_overwritten';
        field: string;
        kept_value: unknown;
        kept_hlc: string;
        lost_value: unknown;
        lost_hlc: string;
      }
    | { kind: 'concurrent_amendments'; record_id: string; amends: string; versions: string[] }
    | { kind: 'slot_taken'; kept: string; lost: string; provider_id: string; date: string; start_time: string }
    | { kind: 'possible_duplicate'; patients: string[]; reason: string }
  );

// ---------- Accounts, device, session ----------

/** A clinic staff role (crates/anola-protocol/src/access.rs `Role`). The kiosk is a device mode. */
export const ROLES: readonly Role[] = ['front_desk', 'clinician', 'field_worker', 'clinic_admin', 'kiosk'];


/** Who is signed in (auth.rs `SessionUser`). */

/** This device's enrolment. `role` is the ceiling of everything it may hold and do. */
export interface DeviceInfo {
  device_id: string;
  name: string;
  clinic_id: string;
  role: Role;
  field_worker_id: string | null;
}

/** A staff member who has signed in on this device before (can sign in offline). */
export interface KnownUser {
  user_id: string;
  username: string;
  display_name: string;
  role: Role | null;
  /** RFC 3339; too many failed sign-ins, until then. */
  locked_until: string | null;
}

/** `device_state`, and the `device-state` event. */
export interface DeviceState {
  enrolled: boolean;
  device: DeviceInfo | null;
  user: SessionUser | null;
  /**
   * The role the user acts in on this device: their own, never more than the device's (sent by the
   * backend; when absent the UI combines `device.role` and `user.role` itself).
   */
  role?: Role | null;
  /** The session holds server tokens (an online sign-in): sync can run. Absent: assume it does. */
  online_session?: boolean;
  /** The session is locked (inactivity or the Lock button): unlock with the PIN or password. */
  locked: boolean;
  /** The signed-in user has a PIN on this device. */
  pin_set: boolean;
  known_users: KnownUser[];
  /** Something the user must be told, e.g. that a revoked device erased its data. */
  notice: string | null;
  /**
   * Self check-in kiosk mode: the screen shows only the check-in prompt until a staff PIN leaves it.
   * Always true on a kiosk-enrolled device (`device.role === 'kiosk'`). Absent: false.
   */
  kiosk?: boolean;
}

/** `issue_card`: a new health card, ready to print (the earlier cards of the patient are revoked). */
export interface PrintableCard {
  /** `AH-...` */
  card_id: string;
  patient_id: string;
  display_name: string;
  /** The QR's text, `shc:/...`. */
  qr_text: string;
  /** `1234-5678-9012`, printed under the QR for cards whose QR will not read. */
  fallback_code: string;
  /** RFC 3339. */
  issued_at: string;
  expires_at: string | null;
  /** A complete ID-1 card SVG (85.6 × 53.98 mm). */
  svg: string;
}

/** `verify_card`: a card that checks out, and its patient. */
export interface CardCheck {
  card_id: string;
  patient: Patient;
  expires_at: string | null;
}

/** `check_in`: the patient is marked arrived (today's appointment) or a walk-in was created. */
export interface CheckIn {
  patient_id: string;
  /** "AO" or "A. O." — the only thing a kiosk shows of the patient. */
  initials: string;
  queue_number: number;
  appointment_id: string | null;
  walk_in: boolean;
}

/** Why `verify_card` / `check_in` refused a card (`{ code: 'card_rejected', reason, message }`). */
export type CardRejectReason =
  | 'forged'
  | 'malformed'
  | 'too_large'
  | 'unknown_key'
  | 'foreign_issuer'
  | 'expired'
  | 'not_yet_valid'
  | 'revoked'
  | 'unknown_card'
  | 'unknown_patient'
  | 'other_clinic'
  | 'not_assigned'
  | 'no_keys'
  | 'image_unreadable'
  | 'no_code_found'
  | 'unreadable';

export type AuditAction =
  | 'view_record'
  | 'view_patient'
  | 'write'
  | 'sign_in'
  | 'sign_in_failed'
  | 'unlock'
  | 'unlock_failed'
  | 'lock';

/** wire.rs `EntityKind`. */

/** One entry of the device's audit trail (auth.rs `AuditEntry`). Never holds patient data beyond ids. */
export interface AuditEntry {
  id: string;
  /** RFC 3339, device time. */
  at: string;
  user_id: string | null;
  device_id: string;
  action: AuditAction;
  entity: EntityKind | null;
  entity_id: string | null;
  patient_id: string | null;
}
