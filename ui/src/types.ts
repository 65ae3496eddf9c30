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
  /** Has local changes not yet acknowledged by the server. */
  pending: boolean;
}

export type PatientFieldName = keyof Omit<Patient, 'id' | 'pending'>;

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
  code: ErrorCode;
  message: string;
  errors?: FieldError[];
}
