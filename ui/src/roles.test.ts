import { describe, expect, it } from 'vitest';
import {
  accessFor,
  accessOf,
  CLINICAL_PATIENT_FIELDS,
  detailTabsFor,
  firstForbidden,
  forbiddenMessage,
  KIOSK_PATIENT_FIELDS,
  mayRead,
  mayWrite,
  roleLabel,
  writablePatientFields,
} from './roles';
import { ROLES, type EntityKind } from './types';

const KINDS: EntityKind[] = ['patient', 'appointment', 'medical_record', 'provider', 'conflict', 'merge'];

describe('role matrix (mirror of access.rs)', () => {
  it('front desk never sees clinical data', () => {
    expect(mayRead('front_desk', 'medical_record')).toBe(false);
    expect(mayRead('front_desk', 'patient', 'allergies')).toBe(false);
    expect(mayRead('front_desk', 'patient', 'phone')).toBe(true);
    expect(mayRead('front_desk', 'appointment', 'symptoms')).toBe(false);
    expect(mayRead('front_desk', 'conflict')).toBe(true);
    expect(mayWrite('front_desk', 'patient', 'blood_type')).toBe(false);
    expect(mayWrite('front_desk', 'appointment')).toBe(true);
    expect(mayWrite('front_desk', 'medical_record')).toBe(false);
    for (const f of CLINICAL_PATIENT_FIELDS) expect(mayRead('front_desk', 'patient', f)).toBe(false);
  });

  it('kiosk marks arrival only', () => {
    expect(mayWrite('kiosk', 'appointment', 'status')).toBe(true);
    expect(mayWrite('kiosk', 'appointment', 'date')).toBe(false);
    expect(mayWrite('kiosk', 'appointment')).toBe(false);
    expect(mayWrite('kiosk', 'patient')).toBe(false);
    expect(mayRead('kiosk', 'patient', 'phone')).toBe(false);
    for (const f of KIOSK_PATIENT_FIELDS) expect(mayRead('kiosk', 'patient', f)).toBe(true);
    expect(mayRead('kiosk', 'conflict')).toBe(false);
    expect(mayRead('kiosk', 'medical_record')).toBe(false);
    expect(firstForbidden('kiosk', 'appointment', false, ['status'])).toBeNull();
    expect(firstForbidden('kiosk', 'appointment', true, ['status'])).toEqual({ field: null });
    expect(firstForbidden('kiosk', 'appointment', false, ['status', 'date'])).toEqual({ field: 'date' });
  });

  it('clinical roles read and write everything but server records', () => {
    for (const r of ['clinician', 'clinic_admin', 'field_worker'] as const) {
      for (const k of KINDS) expect(mayRead(r, k)).toBe(true);
      expect(mayWrite(r, 'medical_record')).toBe(true);
      expect(mayWrite(r, 'patient', 'allergies')).toBe(true);
    }
  });

  it('nobody writes server records', () => {
    for (const r of ROLES) {
      for (const k of ['provider', 'conflict', 'merge'] as const) expect(mayWrite(r, k)).toBe(false);
    }
  });
});

describe('access of a signed-in person', () => {
  it('takes the device role as a ceiling', () => {
    const a = accessFor('front_desk', 'clinician');
    expect(a.records).toBe(false);
    expect(a.clinicalPatientFields).toBe(false);
    expect(a.label).toBe('Clinician');
    const b = accessFor('clinic_admin', 'clinician');
    expect(b.records).toBe(true);
    expect(b.accessHistory).toBe(false);
  });

  it('gives access history to clinic admins only', () => {
    expect(accessFor('clinic_admin', 'clinic_admin').accessHistory).toBe(true);
    expect(accessFor('clinician', 'clinic_admin').accessHistory).toBe(true);
    expect(accessFor('clinic_admin', 'front_desk').accessHistory).toBe(false);
    expect(accessFor('clinic_admin', null, true).accessHistory).toBe(true);
  });

  it('treats a kiosk device as kiosk whoever set it up', () => {
    const k = accessFor('kiosk', 'clinic_admin');
    expect(k.kiosk).toBe(true);
    expect(k.role).toBe('kiosk');
    expect(k.accessHistory).toBe(false);
    expect(k.read('patient', 'phone')).toBe(false);
  });

  it('grants nothing without a role', () => {
    const n = accessFor('clinic_admin', null);
    expect(n.read('patient')).toBe(false);
    expect(n.records).toBe(false);
    expect(accessOf({ device: null, user: null }).read('patient')).toBe(false);
  });

  it('chooses the patient page tabs', () => {
    expect(detailTabsFor(accessFor('clinic_admin', 'front_desk'))).toEqual(['details', 'appointments', 'wallet', 'sponsorship']);
    expect(detailTabsFor(accessFor('clinic_admin', 'clinician'))).toEqual(['details', 'appointments', 'records', 'sponsorship']);
    expect(detailTabsFor(accessFor('clinic_admin', 'clinic_admin'))).toEqual([
      'details',
      'appointments',
      'records',
      'access',
      'wallet',
      'sponsorship',
    ]);
    expect(detailTabsFor(accessFor('kiosk', 'kiosk'))).toEqual(['details', 'appointments']);
    expect(accessFor('clinician', 'clinician').money).toBe(false);
    expect(accessFor('clinician', 'clinician').preApprove).toBe(true);
    expect(accessFor('clinic_admin', 'front_desk').preApprove).toBe(false);
    expect(accessFor('kiosk', 'front_desk').money).toBe(false);
  });

  it('drops fields a role may not write from a payload', () => {
    const fd = accessFor('clinic_admin', 'front_desk');
    expect(writablePatientFields(fd, { phone: '1', allergies: null, blood_type: 'O+' })).toEqual({ phone: '1' });
    const c = accessFor('clinic_admin', 'clinician');
    expect(writablePatientFields(c, { phone: '1', blood_type: 'O+' })).toEqual({ phone: '1', blood_type: 'O+' });
  });
});

describe('refusal wording', () => {
  it('names the role and what it cannot do', () => {
    expect(forbiddenMessage('front_desk', 'allergies')).toBe('Your role (Front desk) cannot see or change allergies.');
    expect(forbiddenMessage('front_desk', 'medical_record')).toBe(
      'Your role (Front desk) cannot see or write medical records.',
    );
    expect(forbiddenMessage('clinician', 'access_history')).toBe(
      "Your role (Clinician) cannot see a patient's access history.",
    );
    expect(forbiddenMessage('kiosk', 'health_card_id')).toBe('Your role (Kiosk) cannot change “health card id”.');
    expect(forbiddenMessage('front_desk', null, 'not allowed.')).toBe('Your role (Front desk) cannot do this: not allowed.');
    expect(forbiddenMessage(null, undefined)).toBe('Your role (No clinic role) cannot do this.');
    expect(roleLabel('clinic_admin')).toBe('Clinic admin');
  });
});
