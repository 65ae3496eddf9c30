import { describe, expect, it } from 'vitest';
import {
  buildFields,
  changedFields,
  emptyAllergy,
  emptyForm,
  getPath,
  normalizeDateInput,
  patientToForm,
  payloadFieldToFormField,
  prepareSubmit,
  setPath,
  shiftRowErrors,
} from './form';
import type { Patient } from './types';

const TODAY = '2025-06-15';

const patient: Patient = {
  id: 'p1',
  given_name: 'Amina',
  family_name: 'Okafor',
  middle_name: null,
  date_of_birth: '1988-04-12',
  gender: 'female',
  phone: '+234 803 555 0142',
  email: null,
  national_id: null,
  address: { city: 'Enugu', country: 'Nigeria' },
  health_card_id: 'AH-2041-7731',
  emergency_contact: null,
  blood_type: null,
  allergies: [{ allergen: 'Penicillin', severity: 'severe' }],
  chronic_conditions: null,
  pending: false,
};

describe('registration payload', () => {
  it('trims text, leaves empty fields out and drops blank list rows', () => {
    let v = emptyForm();
    v = setPath(v, 'given_name', '  Amina ');
    v = setPath(v, 'family_name', 'Okafor');
    v = setPath(v, 'date_of_birth', '19880412');
    v = setPath(v, 'address.city', ' Enugu');
    v = { ...v, allergies: [emptyAllergy(), { ...emptyAllergy(), allergen: 'Latex', severity: 'mild' }] };
    const prep = prepareSubmit(v, null, TODAY);
    expect(prep.errors).toEqual({});
    expect(prep.payload).toEqual({
      given_name: 'Amina',
      family_name: 'Okafor',
      date_of_birth: '1988-04-12',
      address: { city: 'Enugu' },
      allergies: [{ allergen: 'Latex', severity: 'mild' }],
    });
    expect(prep.built.allergyRows).toEqual([1]);
  });

  it('reports errors by form field path, mapping list rows back', () => {
    let v = emptyForm();
    v = { ...v, allergies: [emptyAllergy(), { ...emptyAllergy(), severity: 'mild' }] };
    v = setPath(v, 'email', 'nope');
    const { errors } = prepareSubmit(v, null, TODAY);
    expect(Object.keys(errors).sort()).toEqual(
      ['allergies[1].allergen', 'date_of_birth', 'email', 'family_name', 'given_name'].sort(),
    );
    expect(errors.given_name).toBe('Given name is required');
  });
});

describe('update payload', () => {
  it('is empty when nothing changed', () => {
    const prep = prepareSubmit(patientToForm(patient), patient, TODAY);
    expect(prep.unchanged).toBe(true);
    expect(prep.payload).toEqual({});
  });

  it('sends only changed fields, null for cleared ones, whole objects for nested ones', () => {
    let v = patientToForm(patient);
    v = setPath(v, 'phone', '');
    v = setPath(v, 'email', 'amina@example.org');
    v = setPath(v, 'address.city', 'Nsukka');
    v = { ...v, allergies: [] };
    expect(changedFields(patient, buildFields(v))).toEqual({
      phone: null,
      email: 'amina@example.org',
      address: { city: 'Nsukka', country: 'Nigeria' },
      allergies: null,
    });
  });

  it('clears a nested object when all its fields are emptied', () => {
    let v = patientToForm(patient);
    v = setPath(v, 'address.city', '');
    v = setPath(v, 'address.country', ' ');
    expect(changedFields(patient, buildFields(v))).toEqual({ address: null });
  });

  it('refuses clearing a required field', () => {
    const v = setPath(patientToForm(patient), 'given_name', '   ');
    const prep = prepareSubmit(v, patient, TODAY);
    expect(prep.payload).toEqual({ given_name: null });
    expect(prep.errors).toEqual({ given_name: 'Given name is required' });
  });

  it('does not re-check untouched stored values', () => {
    const legacy = { ...patient, phone: 'call the shop' };
    const v = setPath(patientToForm(legacy), 'email', 'a@b.co');
    expect(prepareSubmit(v, legacy, TODAY).errors).toEqual({});
  });
});

describe('paths', () => {
  it('reads and writes simple, nested and row paths', () => {
    let v = emptyForm();
    v = { ...v, allergies: [emptyAllergy()] };
    v = setPath(v, 'allergies[0].allergen', 'Peanuts');
    v = setPath(v, 'emergency_contact.name', 'Chidi');
    expect(getPath(v, 'allergies[0].allergen')).toBe('Peanuts');
    expect(getPath(v, 'emergency_contact.name')).toBe('Chidi');
    expect(getPath(v, 'given_name')).toBe('');
  });

  it('moves row errors up when a row is removed', () => {
    expect(
      shiftRowErrors(
        { 'allergies[0].allergen': 'a', 'allergies[1].allergen': 'b', 'allergies[2].notes': 'c', phone: 'p' },
        'allergies',
        1,
      ),
    ).toEqual({ 'allergies[0].allergen': 'a', 'allergies[1].notes': 'c', phone: 'p' });
  });

  it('normalizes compact dates only', () => {
    expect(normalizeDateInput('19880412')).toBe('1988-04-12');
    expect(normalizeDateInput(' 1988-04-12 ')).toBe('1988-04-12');
    expect(normalizeDateInput('12/04/1988')).toBe('12/04/1988');
  });
});

describe('backend errors', () => {
  it('land on the form row they belong to when blank rows were dropped', () => {
    let v = emptyForm();
    v = { ...v, allergies: [emptyAllergy(), { ...emptyAllergy(), allergen: 'x' }, emptyAllergy(), { ...emptyAllergy(), allergen: 'y' }] };
    const built = buildFields(v);
    expect(built.allergyRows).toEqual([1, 3]);
    expect(payloadFieldToFormField('allergies[1].allergen', built)).toBe('allergies[3].allergen');
    expect(payloadFieldToFormField('allergies', built)).toBe('allergies');
    expect(payloadFieldToFormField('address.city', built)).toBe('address.city');
  });
});
