import { type FormEvent, useCallback, useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { Empty, ErrorText, Loading, TableWrap } from "../components/ui";
import { useOnReconnect } from "../hooks/useNotifications";
import { api } from "../lib/api";
import type { StockRow, StockUpdate } from "../lib/types";
import { useAuth } from "../stores/auth";
import { StockCells } from "./Inventory";

function EditStock({ partId, row, onSaved }: { partId: number; row: StockRow | undefined; onSaved: (r: StockRow) => void }) {
  const [form, setForm] = useState<StockUpdate>({
    quantity: row?.quantity ?? 0,
    low_stock_threshold: row?.low_stock_threshold ?? 0,
    unit_price: row?.unit_price ?? "0.00",
    lead_time_days: row?.lead_time_days ?? 0,
  });
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const saved = await api.setStock(partId, { ...form, unit_price: String(form.unit_price) });
      onSaved(saved);
      setMessage(saved.is_low ? "Saved. This row is below its threshold." : "Saved.");
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const num = (key: keyof StockUpdate) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setForm((f) => ({ ...f, [key]: key === "unit_price" ? e.target.value : Number(e.target.value) }));
  return (
    <form className="card form-grid" onSubmit={submit} aria-label="Update stock">
      <h2>{row ? "Update your stock" : "Add this part to your stock"}</h2>
      <label className="field"><span>Quantity</span>
        <input type="number" min={0} value={form.quantity} onChange={num("quantity")} required /></label>
      <label className="field"><span>Low-stock threshold</span>
        <input type="number" min={0} value={form.low_stock_threshold} onChange={num("low_stock_threshold")} required /></label>
      <label className="field"><span>Unit price</span>
        <input type="number" min={0} step="0.01" value={form.unit_price} onChange={num("unit_price")} required /></label>
      <label className="field"><span>Lead time (days)</span>
        <input type="number" min={0} value={form.lead_time_days} onChange={num("lead_time_days")} required /></label>
      <div className="form-actions"><button type="submit" className="primary" disabled={busy}>{busy ? "Saving…" : "Save"}</button></div>
      {message && <p role="status" className="ok-text">{message}</p>}
      <ErrorText>{error}</ErrorText>
    </form>
  );
}

export function InventoryItemPage() {
  const partId = Number(useParams().partId);
  const user = useAuth((s) => s.user);
  const [rows, setRows] = useState<StockRow[] | null>(null);
  const [partLabel, setPartLabel] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.stock({ part_id: partId, limit: 100 }).then(
      (p) => { setRows(p.items); setError(null); },
      (e: Error) => setError(e.message),
    );
  }, [partId]);
  useEffect(load, [load]);
  useOnReconnect(load);
  useEffect(() => {
    // The part's name even when nobody stocks it yet.
    api.parts().then((p) => {
      const part = p.items.find((x) => x.id === partId);
      if (part) setPartLabel(`${part.name} (${part.sku})`);
    }, () => {});
  }, [partId]);

  const supplier = user?.role === "supplier";
  // A supplier's list holds only its own row; an admin's every supplier's.
  const own = supplier ? rows?.find((r) => r.supplier_id === user?.supplier_id) : undefined;
  const first = rows?.[0];
  const title = first?.part_name ? `${first.part_name} (${first.part_sku})` : partLabel ?? `Part ${partId}`;
  return (
    <main className="page">
      <p className="crumbs"><Link to="/inventory">Inventory</Link> / {title}</p>
      <h1>{title}</h1>
      <ErrorText>{error}</ErrorText>
      {rows === null && !error && <Loading what="Loading stock…" />}
      {rows && rows.length === 0 && !supplier && <Empty>No supplier stocks this part.</Empty>}
      {rows && rows.length > 0 && (
        <TableWrap label={supplier ? "Your stock of this part" : "Stock by supplier"} card>
          <table className="data cards-phone" aria-label={supplier ? "Your stock of this part" : "Stock by supplier"}>
            <thead>
              <tr>
                <th scope="col">Supplier</th><th scope="col" className="num">Quantity</th>
                <th scope="col" className="num">Threshold</th><th scope="col">Stock</th>
                <th scope="col" className="num">Unit price</th><th scope="col" className="num">Lead time</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id} className={r.is_low ? "row-low" : undefined} data-low={r.is_low ? "true" : "false"}>
                  <td data-label="Supplier">{r.supplier_name ?? `Supplier ${r.supplier_id}`}</td>
                  <StockCells row={r} />
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {supplier && rows !== null && (
        <EditStock key={own?.id ?? "new"} partId={partId} row={own}
          onSaved={(saved) => setRows((rs) => [saved, ...(rs ?? []).filter((r) => r.id !== saved.id)])} />
      )}
    </main>
  );
}
