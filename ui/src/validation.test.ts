import { describe, expect, it } from 'vitest';
import {
  checkDate,
  fieldLabel,
  isValidEmail,
  isValidHealthCardId,
  isValidPhone,
  messageFor,
  parseIsoDate,
  todayIso,
  validatePatientFields,
} from './validation';

const TODAY = '2025-06-15';
const fieldsOf = (errs: { field: string }[]) => errs.map((e) => e.field);

describe('parseIsoDate', () => {
  it('accepts real calendar dates only', () => {
    expect(parseIsoDate('1988-04-12')).toEqual({ year: 1988, month: 4, day: 12 });
    expect(parseIsoDate('2024-02-29')).not.toBeNull();
    expect(parseIsoDate('2023-02-29')).toBeNull();
    expect(parseIsoDate('1900-02-29')).toBeNull();
    expect(parseIsoDate('2000-02-29')).not.toBeNull();
    expect(parseIsoDate('2021-04-31')).toBeNull();
    expect(parseIsoDate('2021-13-01')).toBeNull();
    expect(parseIsoDate('2021-00-10')).toBeNull();
    expect(parseIsoDate('1988-4-12')).toBeNull();
    expect(parseIsoDate('12/04/1988')).toBeNull();
    expect(parseIsoDate(' 1988-04-12')).toBeNull();
  });
});

describe('checkDate', () => {
  it('mirrors the backend codes', () => {
    expect(checkDate('1988-04-12', TODAY)).toBeNull();
    expect(checkDate(TODAY, TODAY)).toBeNull();
    expect(checkDate('2025-06-16', TODAY)).toBe('in_future');
    expect(checkDate('1879-12-31', TODAY)).toBe('out_of_range');
    expect(checkDate('1880-01-01', TODAY)).toBeNull();
    expect(checkDate('1988-02-30', TODAY)).toBe('invalid_date');
    expect(checkDate('yesterday', TODAY)).toBe('invalid_date');
  });

  it('todayIso uses the local calendar day', () => {
    expect(todayIso(new Date(2025, 0, 5, 23, 59))).toBe('2025-01-05');
  });
});

describe('phone', () => {
  it.each(['+254 712 345 678', '0712345678', '(020) 555-0142', '+1.415.555.0100', '1234567', '123456789012345'])(
    'accepts %s',
    (p) => expect(isValidPhone(p)).toBe(true),
  );
  it.each(['123456', '1234567890123456', '12ab567', '0712+345678', '+ 12 34', '071 234 567#', ''])('rejects %s', (p) =>
    expect(isValidPhone(p)).toBe(false),
  );
});

describe('email', () => {
  it.each(['a@b.co', 'amina.okafor@example.org', 'x+y@sub.example.org'])('accepts %s', (e) =>
    expect(isValidEmail(e)).toBe(true),
  );
  it.each(['nope', '@example.org', 'a@example', 'a@.example.org', 'a@example.org.', 'a b@c.org', 'a@b@c.org'])(
    'rejects %s',
    (e) => expect(isValidEmail(e)).toBe(false),
  );
});

describe('health card id', () => {
  it('needs AH- then letters, digits and dashes, at most 40 characters', () => {
    expect(isValidHealthCardId('AH-2041-7731')).toBe(true);
    expect(isValidHealthCardId('AH-x')).toBe(true);
    expect(isValidHealthCardId('AH-')).toBe(false);
    expect(isValidHealthCardId('ah-2041')).toBe(false);
    expect(isValidHealthCardId('XY-1')).toBe(false);
    expect(isValidHealthCardId('AH-20 41')).toBe(false);
    expect(isValidHealthCardId(`AH-${'1'.repeat(37)}`)).toBe(true);
    expect(isValidHealthCardId(`AH-${'1'.repeat(38)}`)).toBe(false);
  });
});

describe('validatePatientFields', () => {
  it('accepts a minimal registration', () => {
    expect(
      validatePatientFields({ given_name: 'Amina', family_name: 'Okafor', date_of_birth: '1988-04-12' }, 'create', TODAY),
    ).toEqual([]);
  });

  it('requires the name and date of birth on registration', () => {
    const errs = validatePatientFields({ phone: '0712345678' }, 'create', TODAY);
    expect(fieldsOf(errs)).toEqual(['given_name', 'family_name', 'date_of_birth']);
    expect(errs[0]).toMatchObject({ code: 'required', message: 'Given name is required' });
  });

  it('reports every bad field, with the backend field names', () => {
    const errs = validatePatientFields(
      {
        given_name: ' ',
        date_of_birth: '2030-01-01',
        phone: '12ab',
        email: 'nope',
        health_card_id: 'XY-1',
        address: { city: '' },
        emergency_contact: { phone: '12' },
        allergies: [{ allergen: '' }],
        chronic_conditions: [{ condition: 'Asthma', diagnosed_date: '2001-13-01' }],
      },
      'create',
      TODAY,
    );
    expect(fieldsOf(errs)).toEqual(
      expect.arrayContaining([
        'given_name',
        'family_name',
        'date_of_birth',
        'phone',
        'email',
        'health_card_id',
        'address.city',
        'emergency_contact.phone',
        'allergies[0].allergen',
        'chronic_conditions[0].diagnosed_date',
      ]),
    );
    expect(errs.find((e) => e.field === 'date_of_birth')?.code).toBe('in_future');
  });

  it('on update checks only what is sent, and refuses clearing required fields', () => {
    expect(validatePatientFields({ phone: null }, 'update', TODAY)).toEqual([]);
    expect(validatePatientFields({ email: 'a@b.co' }, 'update', TODAY)).toEqual([]);
    const errs = validatePatientFields({ family_name: null }, 'update', TODAY);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ field: 'family_name', code: 'required' });
  });

  it('refuses an empty update', () => {
    expect(validatePatientFields({}, 'update', TODAY)[0]?.field).toBe('fields');
  });

  it('limits text to 200 characters and refuses control characters', () => {
    expect(validatePatientFields({ middle_name: 'x'.repeat(200) }, 'update', TODAY)).toEqual([]);
    expect(validatePatientFields({ middle_name: 'x'.repeat(201) }, 'update', TODAY)[0]?.code).toBe('too_long');
    expect(validatePatientFields({ national_id: 'a\u0007b' }, 'update', TODAY)[0]?.code).toBe('invalid_characters');
  });

  it('refuses values outside the enums', () => {
    const errs = validatePatientFields({ gender: 'martian', blood_type: 'C+' } as never, 'update', TODAY);
    expect(fieldsOf(errs)).toEqual(['gender', 'blood_type']);
  });
});

describe('messages', () => {
  it('labels nested and indexed fields', () => {
    expect(fieldLabel('address.city')).toBe('City');
    expect(fieldLabel('allergies[3].allergen')).toBe('Allergen');
    expect(fieldLabel('emergency_contact.phone')).toBe('Contact phone');
  });

  it('uses the same wording for client and server errors, and keeps unknown server messages', () => {
    expect(messageFor('date_of_birth', 'out_of_range')).toBe('Date of birth must be after 1880');
    expect(messageFor('phone', 'invalid_phone')).toMatch(/^Phone must be 7 to 15 digits/);
    expect(messageFor('phone', 'weird_code', 'server says no')).toBe('server says no');
  });
});
