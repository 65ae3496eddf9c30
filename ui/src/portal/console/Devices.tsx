// Devices: enrolment codes (as text and as a QR to scan), renaming, and revoking (the device
// erases its data at its next contact).

import { useState, type FormEvent } from 'react';
import type { DeviceInfo, EnrolmentCodeView, Role } from '../../generated/protocol';
import { SelectField, TextField } from '../../components/Field';
import { ErrorBanner } from '../../components/ErrorBanner';
import { Modal } from '../../components/Modal';
import { ROLE_LABELS } from '../../roles';
import { formatDateTime } from '../../format';
import { fieldError, get, post, put, type ApiError } from '../http';
import { useLoad } from '../useLoad';

const DEVICE_ROLES: Role[] = ['front_desk', 'clinician', 'field_worker', 'clinic_admin', 'kiosk'];

export function Devices({ clinic }: { clinic: string }) {
  const c = encodeURIComponent(clinic);
  const devices = useLoad(() => get<DeviceInfo[]>(`/admin/clinics/${c}/devices`), clinic);
  const [role, setRole] = useState<Role>('front_desk');
  const [worker, setWorker] = useState('');
  const [code, setCode] = useState<EnrolmentCodeView | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [renaming, setRenaming] = useState<DeviceInfo | null>(null);
  const [revoking, setRevoking] = useState<DeviceInfo | null>(null);

  const makeCode = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      setCode(
        await post<EnrolmentCodeView>(`/portal/api/clinics/${c}/enrolment-codes`, {
          role,
          field_worker_id: role === 'field_worker' ? worker.trim() : null,
        }),
      );
    } catch (err) {
      setError(err as ApiError);
    }
  };

  const revoke = async (d: DeviceInfo) => {
    try {
      await post(`/admin/devices/${encodeURIComponent(d.device_id)}/revoke`);
    } catch (err) {
      setError(err as ApiError);
    }
    setRevoking(null);
    devices.reload();
  };

  return (
    <section aria-labelledby="devices-title">
      <h1 id="devices-title">Devices</h1>
      <form className="inline-form" onSubmit={(e) => void makeCode(e)} noValidate aria-labelledby="code-title">
        <h2 id="code-title" className="inline-form-title">
          Enrol a device
        </h2>
        <div className="inline-grid">
          <SelectField testId="code-role" label="Device role" value={role} onValueChange={(v) => setRole(v as Role)} options={DEVICE_ROLES.map((r) => ({ value: r, label: ROLE_LABELS[r] }))} />
          {role === 'field_worker' && (
            <TextField testId="code-worker" label="Field worker id" value={worker} onValueChange={setWorker} error={fieldError(error, 'field_worker_id')} />
          )}
        </div>
        <button type="submit" className="btn btn-primary" data-testid="code-create">
          Create enrolment code
        </button>
      </form>
      {error && !fieldError(error, 'field_worker_id') && <ErrorBanner title={error.message} onDismiss={() => setError(null)} />}
      {code && (
        <div className="enrol-code" data-testid="enrol-code">
          <img src={`data:image/svg+xml;utf8,${encodeURIComponent(code.qr_svg)}`} alt={`QR code of enrolment code ${code.code.code}`} width={200} height={200} />
          <div>
            <p className="muted">Enter this code in the clinic app (or scan the QR). It works once, until {formatDateTime(code.code.expires_at)}.</p>
            <p className="kiosk-code mono" data-testid="enrol-code-text">
              {code.code.code}
            </p>
            <p>
              Role: <strong>{ROLE_LABELS[code.code.role]}</strong>
            </p>
          </div>
        </div>
      )}
      <h2>Enrolled devices</h2>
      {devices.error && <ErrorBanner title="Devices could not be loaded" onRetry={devices.reload}>{devices.error.message}</ErrorBanner>}
      {devices.data && devices.data.length === 0 && <p className="empty">No device enrolled yet.</p>}
      {devices.data && devices.data.length > 0 && (
        <table className="portal-table" data-testid="devices-table">
          <caption className="sr-only">Enrolled devices</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Enrolled</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {devices.data.map((d) => (
              <tr key={d.device_id} data-testid={`device-row-${d.device_id}`}>
                <th scope="row">
                  {d.name}
                  <div className="muted mono small-note">{d.device_id}</div>
                </th>
                <td>{ROLE_LABELS[d.role]}</td>
                <td>{formatDateTime(d.enrolled_at)}</td>
                <td>{d.revoked_at ? <span className="badge badge-error">Revoked</span> : 'Active'}</td>
                <td className="row-actions">
                  <button type="button" className="btn btn-small" onClick={() => setRenaming(d)}>
                    Rename
                  </button>
                  {!d.revoked_at && (
                    <button type="button" className="btn btn-small btn-danger" onClick={() => setRevoking(d)} data-testid={`revoke-${d.device_id}`}>
                      Revoke and wipe
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {renaming && (
        <Rename
          device={renaming}
          clinic={clinic}
          onClose={() => setRenaming(null)}
          onDone={() => {
            setRenaming(null);
            devices.reload();
          }}
        />
      )}
      {revoking && (
        <Modal labelledBy="revoke-title" onClose={() => setRevoking(null)} trapFocus>
          <h2 id="revoke-title" className="modal-title">
            Revoke {revoking.name}?
          </h2>
          <p className="modal-text">It stops syncing at once and erases its local data at its next contact. Writes it has not uploaded are lost.</p>
          <div className="form-actions">
            <button type="button" className="btn" onClick={() => setRevoking(null)}>
              Cancel
            </button>
            <button
              type="button"
              className="btn btn-danger"
              data-testid="revoke-confirm"
              onClick={() => void revoke(revoking)}
            >
              Revoke and wipe
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}

function Rename({ device, clinic, onClose, onDone }: { device: DeviceInfo; clinic: string; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState(device.name);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await put(`/portal/api/clinics/${encodeURIComponent(clinic)}/devices/${encodeURIComponent(device.device_id)}/name`, { name });
      onDone();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <Modal labelledBy="rename-title" onClose={onClose} trapFocus>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <h2 id="rename-title" className="modal-title">
          Rename device
        </h2>
        <TextField testId="device-name" label="Name" value={name} onValueChange={setName} error={fieldError(error, 'name') ?? error?.message} autoFocus />
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary">
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}
