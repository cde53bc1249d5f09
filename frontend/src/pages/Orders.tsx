import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { Empty, ErrorText, Field, Loading, StatusPill, TableWrap } from "../components/ui";
import { useFormAction } from "../hooks/useFormAction";
import { useOnReconnect } from "../hooks/useNotifications";
import { useSocketEvent } from "../hooks/useSocket";
import i18n from "../i18n";
import { api } from "../lib/api";
import { dateTime } from "../lib/format";
import type { Order, Part } from "../lib/types";
import { useAuth } from "../stores/auth";

function PlaceOrder({ onPlaced }: { onPlaced: () => void }) {
  const [parts, setParts] = useState<Part[]>([]);
  const [partId, setPartId] = useState("");
  const [quantity, setQuantity] = useState(1);
  const { message, error, setError, submit } = useFormAction();
  const { t } = useTranslation();
  useEffect(() => {
    api.parts().then((p) => setParts(p.items), (e: Error) => setError(e.message));
  }, [setError]);
  const place = submit(async () => {
    const order = await api.placeOrder([{ part_id: Number(partId), quantity }]);
    onPlaced();
    return t("orders.placed", { id: order.id });
  });
  return (
    <form className="card form-grid" onSubmit={place} aria-label={t("orders.place")}>
      <h2>{t("orders.place")}</h2>
      <Field label={t("orders.part")}>{(id) => (
        <select id={id} value={partId} onChange={(e) => setPartId(e.target.value)} required>
          <option value="">{t("orders.choosePart")}</option>
          {parts.map((p) => <option key={p.id} value={p.id}>{p.name} ({p.sku})</option>)}
        </select>
      )}</Field>
      <label className="field">
        <span>{t("orders.quantity")}</span>
        <input type="number" min={1} value={quantity} onChange={(e) => setQuantity(Number(e.target.value))} />
      </label>
      <div className="form-actions">
        <button type="submit" className="primary">{t("orders.placeButton")}</button>
      </div>
      {message && <p role="status" className="ok-text">{message}</p>}
      <ErrorText>{error}</ErrorText>
    </form>
  );
}

function itemsSummary(o: Order): string {
  const first = o.items[0];
  if (!first) return "—";
  const name = first.part_name ?? i18n.t("common.partN", { id: first.part_id });
  const line = i18n.t("orders.itemLine", { name, quantity: first.quantity });
  return o.items.length > 1 ? i18n.t("orders.andMore", { text: line, count: o.items.length - 1 }) : line;
}

export function OrdersPage() {
  const user = useAuth((s) => s.user);
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { t } = useTranslation();
  const reload = useCallback(() => {
    api.orders().then((p) => { setOrders(p.items); setError(null); }, (e: Error) => setError(e.message));
  }, []);
  useEffect(reload, [reload]);
  useOnReconnect(reload);
  useSocketEvent("order_status", reload);
  return (
    <main className="page">
      <h1>{t("orders.title")}</h1>
      {user?.role === "buyer" && <PlaceOrder onPlaced={reload} />}
      <ErrorText>{error}</ErrorText>
      {orders === null && !error && <Loading what={t("orders.loading")} />}
      {orders?.length === 0 && <Empty>{t("orders.none")}</Empty>}
      {orders && orders.length > 0 && (
        <TableWrap label={t("orders.title")} card>
          <table className="data cards-phone" aria-label={t("orders.title")}>
            <thead><tr>
              <th scope="col">{t("orders.order")}</th><th scope="col">{t("orders.status")}</th><th scope="col">{t("orders.items")}</th>
              <th scope="col">{t("orders.supplier")}</th><th scope="col">{t("orders.placedAt")}</th>
            </tr></thead>
            <tbody>
              {orders.map((o) => (
                <tr key={o.id}>
                  <td data-label={t("orders.order")}><Link to={`/orders/${o.id}`}>{t("common.orderN", { id: o.id })}</Link></td>
                  <td data-label={t("orders.status")}><StatusPill status={o.status} /></td>
                  <td data-label={t("orders.items")}>{itemsSummary(o)}</td>
                  <td data-label={t("orders.supplier")}>{o.supplier_name ?? "—"}</td>
                  <td data-label={t("orders.placedAt")}>{dateTime(o.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </main>
  );
}
