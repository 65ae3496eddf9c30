// Staff accounts of the clinic: create with a role, disable and enable, change role, reset the
// password or the authenticator. The server applies the same rules as for the CLI and the app.

import { useState, type FormEvent } from 'react';
import type { NewUser, Role, SessionUser } from '../../generated/protocol';
import { SelectField, TextField } from '../../components/Field';
import { ErrorBanner } from '../../components/ErrorBanner';
import { Modal } from '../../components/Modal';
import { ROLE_LABELS } from '../../roles';
import { fieldError, get, post, put, type ApiError } from '../http';
import { useLoad } from '../useLoad';

const STAFF_ROLES: Role[] = ['front_desk', 'clinician', 'field_worker', 'clinic_admin'];
const roleOptions = STAFF_ROLES.map((r) => ({ value: r, label: ROLE_LABELS[r] }));

export function Staff({ clinic, me }: { clinic: string; me: SessionUser }) {
  const users = useLoad(() => get<SessionUser[]>(`/admin/clinics/${encodeURIComponent(clinic)}/users`), clinic);
  const [creating, setCreating] = useState(false);
  const [resetFor, setResetFor] = useState<SessionUser | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const act = async (what: string, call: () => Promise<unknown>) => {
    setError(null);
    try {
      await call();
      setNotice(what);
      users.reload();
    } catch (e) {
      setError(e as ApiError);
    }
  };

  const staff = (users.data ?? []).filter((u) => u.role !== null);
  return (
    <section aria-labelledby="staff-title">
      <div className="page-head">
        <h1 id="staff-title">Staff</h1>
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)} data-testid="staff-new">
          New staff member
        </button>
      </div>
      {notice && (
        <p className="banner banner-success" role="status" data-testid="staff-notice">
          {notice}
        </p>
      )}
      {error && <ErrorBanner title={error.message} onDismiss={() => setError(null)} />}
      {users.error && <ErrorBanner title="Staff could not be loaded" onRetry={users.reload}>{users.error.message}</ErrorBanner>}
      {users.data && staff.length === 0 && <p className="empty">No staff yet.</p>}
      {staff.length > 0 && (
        <table className="portal-table" data-testid="staff-table">
          <caption className="sr-only">Staff accounts</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">User name</th>
              <th scope="col">Role</th>
              <th scope="col">Two-step</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {staff.map((u) => (
              <tr key={u.id} data-testid={`staff-row-${u.username}`}>
                <th scope="row">{u.display_name}</th>
                <td className="mono">{u.username}</td>
                <td>
                  <label className="sr-only" htmlFor={`role-${u.id}`}>
                    Role of {u.display_name}
                  </label>
                  <select
                    id={`role-${u.id}`}
                    className="compact-select"
                    value={u.role ?? ''}
                    disabled={u.id === me.id}
                    onChange={(e) => void act(`${u.display_name} is now ${ROLE_LABELS[e.target.value as Role]}`, () => put(`/portal/api/users/${u.id}/role`, { role: e.target.value }))}
                  >
                    {roleOptions.map((o) => (
                      <option key={o.value} value={o.value}>
                        {o.label}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{u.totp_enabled ? 'On' : 'Off'}</td>
                <td>{u.disabled_at ? <span className="badge badge-error">Disabled</span> : 'Active'}</td>
                <td className="row-actions">
                  {u.disabled_at ? (
                    <button type="button" className="btn btn-small" onClick={() => void act(`${u.display_name} can sign in again`, () => post(`/portal/api/users/${u.id}/enable`))}>
                      Enable
                    </button>
                  ) : (
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      disabled={u.id === me.id}
                      onClick={() => void act(`${u.display_name} is disabled`, () => post(`/admin/users/${u.id}/disable`))}
                      data-testid={`disable-${u.username}`}
                    >
                      Disable
                    </button>
                  )}
                  {u.id !== me.id && (
                    <button type="button" className="btn btn-small" onClick={() => setResetFor(u)} data-testid={`reset-${u.username}`}>
                      Reset password
                    </button>
                  )}
                  {u.totp_enabled && u.id !== me.id && (
                    <button type="button" className="btn btn-small" onClick={() => void act(`${u.display_name} enrols a new authenticator at the next sign-in`, () => post(`/portal/api/users/${u.id}/totp-reset`))}>
                      Reset two-step
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creating && (
        <NewStaff
          clinic={clinic}
          onClose={() => setCreating(false)}
          onCreated={(u) => {
            setCreating(false);
            setNotice(`${u.display_name} (${u.username}) can now sign in`);
            users.reload();
          }}
        />
      )}
      {resetFor && (
        <ResetPassword
          user={resetFor}
          onClose={() => setResetFor(null)}
          onDone={() => {
            setNotice(`The password of ${resetFor.display_name} was changed`);
            setResetFor(null);
          }}
        />
      )}
    </section>
  );
}

function NewStaff({ clinic, onClose, onCreated }: { clinic: string; onClose: () => void; onCreated: (u: SessionUser) => void }) {
  const [f, setF] = useState({ username: '', display_name: '', role: 'front_desk', field_worker_id: '', password: '' });
  const [error, setError] = useState<ApiError | null>(null);
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body: NewUser = {
      username: f.username.trim(),
      password: f.password,
      display_name: f.display_name.trim(),
      user_type: f.role === 'clinic_admin' ? 'admin' : 'provider',
      role: f.role as Role,
      clinic_id: clinic,
      field_worker_id: f.role === 'field_worker' ? f.field_worker_id.trim() : null,
    };
    try {
      onCreated(await post<SessionUser>('/admin/users', body));
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const general = error && !['username', 'display_name', 'role', 'field_worker_id', 'password'].some((k) => fieldError(error, k)) ? error.message : null;
  return (
    <Modal labelledBy="new-staff-title" onClose={onClose} trapFocus>
      <form onSubmit={(e) => void submit(e)} noValidate data-testid="new-staff-form">
        <h2 id="new-staff-title" className="modal-title">
          New staff member
        </h2>
        <TextField testId="new-display-name" label="Full name" value={f.display_name} onValueChange={set('display_name')} error={fieldError(error, 'display_name')} required autoFocus />
        <TextField testId="new-username" label="User name" value={f.username} onValueChange={set('username')} error={fieldError(error, 'username')} required />
        <SelectField testId="new-role" label="Role" value={f.role} onValueChange={set('role')} options={roleOptions} error={fieldError(error, 'role')} />
        {f.role === 'field_worker' && (
          <TextField testId="new-field-worker" label="Field worker id" value={f.field_worker_id} onValueChange={set('field_worker_id')} error={fieldError(error, 'field_worker_id')} required />
        )}
        <TextField
          testId="new-password"
          label="First password"
          type="password"
          autoComplete="new-password"
          hint="At least 12 characters; they can change it later."
          value={f.password}
          onValueChange={set('password')}
          error={fieldError(error, 'password')}
          required
        />
        {general && <ErrorBanner title={general} />}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" data-testid="new-staff-save">
            Create
          </button>
        </div>
      </form>
    </Modal>
  );
}

function ResetPassword({ user, onClose, onDone }: { user: SessionUser; onClose: () => void; onDone: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await post(`/portal/api/users/${user.id}/password`, { password });
      onDone();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <Modal labelledBy="reset-title" onClose={onClose} trapFocus>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <h2 id="reset-title" className="modal-title">
          New password for {user.display_name}
        </h2>
        <TextField testId="reset-password" label="New password" type="password" autoComplete="new-password" value={password} onValueChange={setPassword} error={fieldError(error, 'password') ?? error?.message} autoFocus />
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary">
            Set password
          </button>
        </div>
      </form>
    </Modal>
  );
}
