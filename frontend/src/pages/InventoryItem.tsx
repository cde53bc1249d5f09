import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";
import { Empty, ErrorText, Loading, TableWrap } from "../components/ui";
import { useFormAction } from "../hooks/useFormAction";
import { useOnReconnect } from "../hooks/useNotifications";
import { api } from "../lib/api";
import type { StockRow, StockUpdate } from "../lib/types";
import { useAuth } from "../stores/auth";
import { StockCells, StockHeads } from "./Inventory";

function EditStock({ partId, row, onSaved }: { partId: number; row: StockRow | undefined; onSaved: (r: StockRow) => void }) {
  const [form, setForm] = useState<StockUpdate>({
    quantity: row?.quantity ?? 0,
    low_stock_threshold: row?.low_stock_threshold ?? 0,
    unit_price: row?.unit_price ?? "0.00",
    lead_time_days: row?.lead_time_days ?? 0,
  });
  const { busy, message, error, submit } = useFormAction();
  const { t } = useTranslation();
  const save = submit(async () => {
    const saved = await api.setStock(partId, { ...form, unit_price: String(form.unit_price) });
    onSaved(saved);
    return saved.is_low ? t("inventory.savedLow") : t("common.saved");
  });
  const num = (key: keyof StockUpdate) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setForm((f) => ({ ...f, [key]: key === "unit_price" ? e.target.value : Number(e.target.value) }));
  return (
    <form className="card form-grid" onSubmit={save} aria-label={t("inventory.updateForm")}>
      <h2>{row ? t("inventory.update") : t("inventory.add")}</h2>
      <label className="field"><span>{t("inventory.quantity")}</span>
        <input type="number" min={0} value={form.quantity} onChange={num("quantity")} required /></label>
      <label className="field"><span>{t("inventory.lowThreshold")}</span>
        <input type="number" min={0} value={form.low_stock_threshold} onChange={num("low_stock_threshold")} required /></label>
      <label className="field"><span>{t("inventory.unitPrice")}</span>
        <input type="number" min={0} step="0.01" value={form.unit_price} onChange={num("unit_price")} required /></label>
      <label className="field"><span>{t("inventory.leadTimeDays")}</span>
        <input type="number" min={0} value={form.lead_time_days} onChange={num("lead_time_days")} required /></label>
      <div className="form-actions"><button type="submit" className="primary" disabled={busy}>{busy ? t("common.saving") : t("common.save")}</button></div>
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
  const { t } = useTranslation();
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
  const title = first?.part_name ? `${first.part_name} (${first.part_sku})` : partLabel ?? t("common.partN", { id: partId });
  const tableLabel = supplier ? t("inventory.yourStockOfPart") : t("inventory.bySupplier");
  return (
    <main className="page">
      <p className="crumbs"><Link to="/inventory">{t("inventory.title")}</Link> / {title}</p>
      <h1>{title}</h1>
      <ErrorText>{error}</ErrorText>
      {rows === null && !error && <Loading what={t("inventory.loading")} />}
      {rows && rows.length === 0 && !supplier && <Empty>{t("inventory.noSupplier")}</Empty>}
      {rows && rows.length > 0 && (
        <TableWrap label={tableLabel} card>
          <table className="data cards-phone" aria-label={tableLabel}>
            <thead>
              <tr><th scope="col">{t("inventory.supplier")}</th><StockHeads /></tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id} className={r.is_low ? "row-low" : undefined} data-low={r.is_low ? "true" : "false"}>
                  <td data-label={t("inventory.supplier")}>{r.supplier_name ?? t("common.supplierN", { id: r.supplier_id })}</td>
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
