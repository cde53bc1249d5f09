import { TriangleAlert } from "lucide-react";
import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { Empty, ErrorText, Loading, Pager, TableWrap } from "../components/ui";
import { useOnReconnect } from "../hooks/useNotifications";
import { api } from "../lib/api";
import { dateTime, money } from "../lib/format";
import type { Page, StockRow } from "../lib/types";
import { useAuth } from "../stores/auth";

const SIZE = 50;

function LowMark({ row }: { row: StockRow }) {
  const { t } = useTranslation();
  const low = row.is_low ?? row.quantity < row.low_stock_threshold;
  if (!low) return <span className="pill pill-ok">{t("inventory.ok")}</span>;
  return <span className="pill pill-low"><TriangleAlert size={13} aria-hidden="true" /> {t("inventory.low")}</span>;
}

/** A stock row's figures, the same columns on the inventory list and on a part's page. */
export function StockCells({ row: r }: { row: StockRow }) {
  const { t } = useTranslation();
  return (
    <>
      <td className="num" data-label={t("inventory.quantity")}>{r.quantity}</td>
      <td className="num" data-label={t("inventory.threshold")}>{r.low_stock_threshold}</td>
      <td data-label={t("inventory.stock")}><LowMark row={r} /></td>
      <td className="num" data-label={t("inventory.unitPrice")}>{money(r.unit_price)}</td>
      <td className="num" data-label={t("inventory.leadTime")}>{t("common.days", { count: r.lead_time_days })}</td>
      <td className="nowrap" data-label={t("inventory.updated")}>{dateTime(r.updated_at)}</td>
    </>
  );
}

/** The header cells over StockCells. */
export function StockHeads() {
  const { t } = useTranslation();
  return (
    <>
      <th scope="col" className="num">{t("inventory.quantity")}</th><th scope="col" className="num">{t("inventory.threshold")}</th>
      <th scope="col">{t("inventory.stock")}</th><th scope="col" className="num">{t("inventory.unitPrice")}</th>
      <th scope="col" className="num">{t("inventory.leadTime")}</th><th scope="col">{t("inventory.updated")}</th>
    </>
  );
}

export function InventoryPage() {
  const user = useAuth((s) => s.user);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page<StockRow> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { t } = useTranslation();
  const load = useCallback(() => {
    api.stock({ limit: SIZE, offset }).then((p) => { setPage(p); setError(null); }, (e: Error) => setError(e.message));
  }, [offset]);
  useEffect(load, [load]);
  useOnReconnect(load);
  if (user?.role === "buyer") {
    return <main className="page"><h1>{t("inventory.title")}</h1><ErrorText>{t("inventory.buyersNot")}</ErrorText></main>;
  }
  const admin = user?.role === "admin";
  const lowCount = page?.items.filter((r) => r.is_low ?? r.quantity < r.low_stock_threshold).length ?? 0;
  return (
    <main className="page page-wide">
      <h1>{admin ? t("inventory.allSuppliers") : t("inventory.yours")}</h1>
      {page && lowCount > 0 && (
        <p className="notice"><TriangleAlert size={16} aria-hidden="true" /> {t("inventory.lowRows", { count: lowCount })}</p>
      )}
      <ErrorText>{error}</ErrorText>
      {!page && !error && <Loading what={t("inventory.loading")} />}
      {page?.items.length === 0 && <Empty>{t("inventory.none")}</Empty>}
      {page && page.items.length > 0 && (
        <TableWrap label={t("inventory.table")} card>
          <table className="data cards-phone" aria-label={t("inventory.table")}>
            <thead>
              <tr>
                <th scope="col">{t("inventory.part")}</th><th scope="col">{t("inventory.sku")}</th>
                {admin && <th scope="col">{t("inventory.supplier")}</th>}
                <StockHeads />
              </tr>
            </thead>
            <tbody>
              {page.items.map((r) => (
                <tr key={r.id} className={r.is_low ? "row-low" : undefined} data-low={r.is_low ? "true" : "false"}>
                  <td data-label={t("inventory.part")}><Link to={`/inventory/${r.part_id}`}>{r.part_name ?? t("common.partN", { id: r.part_id })}</Link></td>
                  <td data-label={t("inventory.sku")}><code>{r.part_sku ?? "—"}</code></td>
                  {admin && <td data-label={t("inventory.supplier")}>{r.supplier_name ?? t("common.supplierN", { id: r.supplier_id })}</td>}
                  <StockCells row={r} />
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {page && page.total > SIZE && (
        <Pager label={t("inventory.pages")} offset={offset} size={SIZE} total={page.total} onChange={setOffset} />
      )}
    </main>
  );
}
