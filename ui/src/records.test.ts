import { describe, expect, it } from 'vitest';
import {
  buildRecordFields,
  emptyDiagnosis,
  emptyPrescription,
  emptyRecordForm,
  formatVitals,
  groupRecordVersions,
  hlcToDate,
  recordPayloadFieldToFormField,
  sameClinicalContent,
  versionToRecordForm,
} from './records';
import type { RecordVersionView } from './types';

const P = 'patient-1';

function version(id: string, ms: number, extra: Partial<RecordVersionView> = {}): RecordVersionView {
  return {
    id,
    record_id: id,
    amends: null,
    patient_id: P,
    clinic_id: 'c',
    author: 'Nurse A',
    consultation_notes: 'note',
    hlc: `${String(ms).padStart(15, '0')}-00000-dev1`,
    device_id: 'dev1',
    sync: 'synced',
    superseded: false,
    concurrent_amendment: false,
    ...extra,
  };
}

describe('hlcToDate', () => {
  it('reads the first 15 digits as ms since the epoch', () => {
    expect(hlcToDate('001741786200000-00003-device_1')?.toISOString()).toBe('2025-03-12T13:30:00.000Z');
    expect(hlcToDate('1741786200000-00003-x')).toBeNull();
    expect(hlcToDate('')).toBeNull();
    expect(hlcToDate(undefined)).toBeNull();
  });
});

describe('groupRecordVersions', () => {
  it('groups by record, newest record and newest version first', () => {
    const a1 = version('a1', 1000, { superseded: true });
    const a2 = version('a2', 3000, { record_id: 'a1', amends: 'a1' });
    const b1 = version('b1', 2000);
    const groups = groupRecordVersions([a1, b1, a2]);
    expect(groups.map((g) => g.record_id)).toEqual(['a1', 'b1']);
    expect(groups[0].versions.map((v) => v.id)).toEqual(['a2', 'a1']);
    expect(groups[0].current.map((v) => v.id)).toEqual(['a2']);
    expect(groups[0].older.map((v) => v.id)).toEqual(['a1']);
    expect(groups[0].concurrent).toBe(false);
  });

  it('keeps both concurrent amendments current and flags the group', () => {
    const a1 = version('a1', 1000, { superseded: true });
    const x = version('x', 2000, { record_id: 'a1', amends: 'a1', concurrent_amendment: true });
    const y = version('y', 2500, { record_id: 'a1', amends: 'a1', concurrent_amendment: true, device_id: 'dev2' });
    const [g] = groupRecordVersions([a1, x, y]);
    expect(g.current.map((v) => v.id)).toEqual(['y', 'x']);
    expect(g.concurrent).toBe(true);
    // Once one of them is amended, the other is still current and flagged: still to reconcile.
    const z = version('z', 3000, { record_id: 'a1', amends: 'y' });
    const [g2] = groupRecordVersions([a1, x, { ...y, superseded: true }, z]);
    expect(g2.current.map((v) => v.id)).toEqual(['z', 'x']);
    expect(g2.concurrent).toBe(true);
  });
});

describe('record form → fields', () => {
  it('converts vitals to stored units and drops blank rows', () => {
    const v = emptyRecordForm(' Dr Kamau ');
    v.consultation_notes = 'Headache for 3 days.\n  Worse in the morning.  \n';
    v.vitals.systolic_mmhg = '128';
    v.vitals.diastolic_mmhg = '84';
    v.vitals.temperature_dc = '37,6';
    v.vitals.weight_g = '70.5';
    v.vitals.height_mm = '172';
    v.diagnoses = [emptyDiagnosis(), { ...emptyDiagnosis(), code: 'I10', description: 'Hypertension' }];
    v.prescriptions = [{ ...emptyPrescription(), medication: 'Amlodipine', dose: '5 mg', duration_days: '30' }];
    const built = buildRecordFields(v, P);
    expect(built.errors).toEqual({});
    expect(built.fields).toEqual({
      patient_id: P,
      author: 'Dr Kamau',
      consultation_notes: 'Headache for 3 days.\n  Worse in the morning.',
      vitals: { systolic_mmhg: 128, diastolic_mmhg: 84, temperature_dc: 376, weight_g: 70500, height_mm: 1720 },
      diagnoses: [{ code: 'I10', description: 'Hypertension' }],
      prescriptions: [{ medication: 'Amlodipine', dose: '5 mg', duration_days: 30 }],
    });
    expect(built.diagnosisRows).toEqual([1]);
    expect(recordPayloadFieldToFormField('diagnoses[0].code', built)).toBe('diagnoses[1].code');
  });

  it('reports missing author, empty record and bad vitals by form path', () => {
    const v = emptyRecordForm();
    expect(buildRecordFields(v, P).errors).toEqual({
      author: 'Say who is writing this record',
      fields: 'Write notes, vitals, a diagnosis, a plan or a prescription — the record is empty',
    });
    v.author = 'A';
    v.vitals.pulse_bpm = '72.5';
    v.vitals.systolic_mmhg = '120';
    v.vitals.temperature_dc = '375';
    v.diagnoses = [{ ...emptyDiagnosis(), description: 'no code' }];
    const { errors } = buildRecordFields(v, P);
    expect(errors).toEqual({
      'vitals.pulse_bpm': 'Pulse must be a whole number',
      'vitals.diastolic_mmhg': 'Enter both blood pressure values',
      'vitals.temperature_dc': 'Temperature must be between 25 and 45 °C — did you mean 37.5?',
      'diagnoses[0].code': 'Diagnosis code is required',
    });
  });

  it('prefills an amendment and carries over what the form does not edit', () => {
    const v = version('a1', 1000, {
      vitals: { temperature_dc: 381, weight_g: 12345 },
      diagnoses: [{ code: 'B50', system: 'ICD-10', description: 'Malaria' }],
      orders: [{ kind: 'lab', description: 'Blood smear' }],
    });
    const { values, carried } = versionToRecordForm(v, 'Dr B');
    expect(values.vitals.temperature_dc).toBe('38.1');
    expect(values.vitals.weight_g).toBe('12.345');
    expect(values.author).toBe('Dr B');
    const built = buildRecordFields(values, P, carried);
    expect(built.fields.orders).toEqual([{ kind: 'lab', description: 'Blood smear' }]);
    expect(built.fields.diagnoses).toEqual([{ code: 'B50', system: 'ICD-10', description: 'Malaria' }]);
    expect(sameClinicalContent(built.fields, v)).toBe(true);
    values.plan = 'Review in 2 days';
    expect(sameClinicalContent(buildRecordFields(values, P, carried).fields, v)).toBe(false);
  });

  it('formats vitals in clinical units', () => {
    expect(formatVitals({ systolic_mmhg: 120, diastolic_mmhg: 80, temperature_dc: 375, spo2_percent: 97, weight_g: 3400 })).toEqual([
      'BP 120/80 mmHg',
      'Temp 37.5 °C',
      'SpO₂ 97%',
      'Weight 3.4 kg',
    ]);
  });
});
