import { TriangleAlert } from "lucide-react";
import { useCallback, useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { Empty, ErrorText, Loading, TableWrap } from "../components/ui";
import { useOnReconnect } from "../hooks/useNotifications";
import { api } from "../lib/api";
import { dateTime, money } from "../lib/format";
import type { Page, StockRow } from "../lib/types";
import { useAuth } from "../stores/auth";

const SIZE = 50;

function LowMark({ row }: { row: StockRow }) {
  const low = row.is_low ?? row.quantity < row.low_stock_threshold;
  if (!low) return <span className="pill pill-ok">OK</span>;
  return <span className="pill pill-low"><TriangleAlert size={13} aria-hidden="true" /> Low</span>;
}

/** A stock row's figures, the same columns on the inventory list and on a part's page. */
export function StockCells({ row: r }: { row: StockRow }) {
  return (
    <>
      <td className="num" data-label="Quantity">{r.quantity}</td>
      <td className="num" data-label="Threshold">{r.low_stock_threshold}</td>
      <td data-label="Stock"><LowMark row={r} /></td>
      <td className="num" data-label="Unit price">{money(r.unit_price)}</td>
      <td className="num" data-label="Lead time">{r.lead_time_days} d</td>
      <td data-label="Updated">{dateTime(r.updated_at)}</td>
    </>
  );
}

export function InventoryPage() {
  const user = useAuth((s) => s.user);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page<StockRow> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.stock({ limit: SIZE, offset }).then((p) => { setPage(p); setError(null); }, (e: Error) => setError(e.message));
  }, [offset]);
  useEffect(load, [load]);
  useOnReconnect(load);
  if (user?.role === "buyer") {
    return <main className="page"><h1>Inventory</h1><ErrorText>Inventory is for suppliers and admins.</ErrorText></main>;
  }
  const admin = user?.role === "admin";
  const lowCount = page?.items.filter((r) => r.is_low ?? r.quantity < r.low_stock_threshold).length ?? 0;
  return (
    <main className="page page-wide">
      <h1>{admin ? "Inventory, all suppliers" : "Your stock"}</h1>
      {page && lowCount > 0 && (
        <p className="notice"><TriangleAlert size={16} aria-hidden="true" /> {lowCount} {lowCount === 1 ? "row is" : "rows are"} below threshold on this page.</p>
      )}
      <ErrorText>{error}</ErrorText>
      {!page && !error && <Loading what="Loading stock…" />}
      {page?.items.length === 0 && <Empty>No stock rows yet.</Empty>}
      {page && page.items.length > 0 && (
        <TableWrap label="Stock" card>
          <table className="data cards-phone" aria-label="Stock">
            <thead>
              <tr>
                <th scope="col">Part</th><th scope="col">SKU</th>
                {admin && <th scope="col">Supplier</th>}
                <th scope="col" className="num">Quantity</th><th scope="col" className="num">Threshold</th>
                <th scope="col">Stock</th><th scope="col" className="num">Unit price</th>
                <th scope="col" className="num">Lead time</th><th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((r) => (
                <tr key={r.id} className={r.is_low ? "row-low" : undefined} data-low={r.is_low ? "true" : "false"}>
                  <td data-label="Part"><Link to={`/inventory/${r.part_id}`}>{r.part_name ?? `Part ${r.part_id}`}</Link></td>
                  <td data-label="SKU"><code>{r.part_sku ?? "—"}</code></td>
                  {admin && <td data-label="Supplier">{r.supplier_name ?? `Supplier ${r.supplier_id}`}</td>}
                  <StockCells row={r} />
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {page && page.total > SIZE && (
        <nav aria-label="Pages" className="pager">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - SIZE))}>Previous</button>
          <span>{offset + 1}–{Math.min(offset + SIZE, page.total)} of {page.total}</span>
          <button type="button" disabled={offset + SIZE >= page.total} onClick={() => setOffset(offset + SIZE)}>Next</button>
        </nav>
      )}
    </main>
  );
}
