// The clinic price list: what devices charge (read-only there). Prices change here.

import { useState } from 'react';
import { ErrorBanner } from '../../components/ErrorBanner';
import { formatMoney, parseMoney, type PriceItem, type PriceList } from '../../money';
import { get, put, type ApiError } from '../http';
import { useLoad } from '../useLoad';

export function Prices() {
  const list = useLoad(() => get<PriceList>('/portal/api/prices'), 'prices');
  const [edit, setEdit] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<string | null>(null);

  const save = async (item: PriceItem) => {
    const typed = edit[item.code] ?? '';
    const minor = parseMoney(typed, item.currency);
    if (minor === null) {
      setErrors({ ...errors, [item.code]: `Enter an amount in ${item.currency}, e.g. 1500.00` });
      return;
    }
    try {
      await put(`/money/prices/${encodeURIComponent(item.code)}`, { ...item, price: minor });
      setErrors({ ...errors, [item.code]: '' });
      setNotice(`${item.name} now costs ${formatMoney(minor, item.currency)}`);
      list.reload();
    } catch (e) {
      setErrors({ ...errors, [item.code]: (e as ApiError).message });
    }
  };

  const items = list.data?.items ?? [];
  return (
    <section aria-labelledby="prices-title">
      <h1 id="prices-title">Prices</h1>
      <p className="page-sub">Devices fetch this list when online and charge from it offline.</p>
      {notice && (
        <p className="banner banner-success" role="status">
          {notice}
        </p>
      )}
      {list.error && <ErrorBanner title="Prices could not be loaded" onRetry={list.reload}>{list.error.message}</ErrorBanner>}
      {list.data && items.length === 0 && <p className="empty">The price list is empty.</p>}
      {items.length > 0 && (
        <table className="portal-table" data-testid="prices-table">
          <caption className="sr-only">Price list</caption>
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col">Kind</th>
              <th scope="col">Price</th>
              <th scope="col">New price</th>
            </tr>
          </thead>
          <tbody>
            {items.map((i) => (
              <tr key={i.code}>
                <th scope="row">
                  {i.name}
                  <div className="muted mono small-note">{i.code}</div>
                </th>
                <td>{i.kind}</td>
                <td className="num">{formatMoney(i.price, i.currency)}</td>
                <td>
                  <form
                    className="row-actions"
                    onSubmit={(e) => {
                      e.preventDefault();
                      void save(i);
                    }}
                  >
                    <label className="sr-only" htmlFor={`price-${i.code}`}>
                      New price of {i.name} ({i.currency})
                    </label>
                    <input
                      id={`price-${i.code}`}
                      className="price-input"
                      inputMode="decimal"
                      value={edit[i.code] ?? ''}
                      placeholder={i.currency}
                      aria-invalid={errors[i.code] ? true : undefined}
                      aria-describedby={errors[i.code] ? `price-err-${i.code}` : undefined}
                      onChange={(e) => setEdit({ ...edit, [i.code]: e.target.value })}
                    />
                    <button type="submit" className="btn btn-small">
                      Save
                    </button>
                    {errors[i.code] && (
                      <span className="field-error" id={`price-err-${i.code}`}>
                        {errors[i.code]}
                      </span>
                    )}
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
