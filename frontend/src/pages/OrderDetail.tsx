import { Fragment, type ReactNode, useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";
import { nextStatus, OrderStatusTracker } from "../components/OrderStatusTracker";
import { ErrorText, Loading, StatusPill, TableWrap } from "../components/ui";
import { useOnReconnect } from "../hooks/useNotifications";
import { useSocketEvent } from "../hooks/useSocket";
import { api } from "../lib/api";
import { dateTime, money } from "../lib/format";
import type { Order, OrderStatus, Role } from "../lib/types";
import { useAuth } from "../stores/auth";

// Each labelled by order.actions.{to} in the catalogues.
const ACTIONS: { to: OrderStatus; from: OrderStatus[]; roles: Role[]; danger?: boolean }[] = [
  { to: "CONFIRMED", from: ["MATCHED"], roles: ["supplier"] },
  { to: "DISPATCHED", from: ["CONFIRMED"], roles: ["supplier"] },
  { to: "IN_TRANSIT", from: ["DISPATCHED"], roles: ["supplier"] },
  { to: "DELIVERED", from: ["IN_TRANSIT"], roles: ["buyer", "supplier", "admin"] },
  { to: "CANCELLED", from: ["PLACED", "MATCHED", "CONFIRMED"], roles: ["buyer", "admin"], danger: true },
];

/** Loads an order and follows it live: the status only moves forward; details are refetched. */
function useLiveOrder(id: number) {
  const [order, setOrder] = useState<Order | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(
    () =>
      api.order(id).then(
        (o) => {
          setOrder((prev) => (prev ? { ...o, status: nextStatus(prev.status, o.status) } : o));
          setError(null);
        },
        (e: Error) => setError(e.message),
      ),
    [id],
  );
  useEffect(() => {
    setOrder(null);
    void load();
  }, [load]);
  useOnReconnect(load);
  useSocketEvent<{ order_id: number; status: OrderStatus }>("order_status", (p) => {
    if (p.order_id !== id) return;
    setOrder((prev) => (prev ? { ...prev, status: nextStatus(prev.status, p.status) } : prev));
    void load();
  });
  return { order, error, setError, load };
}

export function OrderDetailPage() {
  const id = Number(useParams().id);
  const role = useAuth((s) => s.user?.role);
  const { order, error, setError, load } = useLiveOrder(id);
  const [eta, setEta] = useState("");
  const [carrier, setCarrier] = useState("");
  const [tracking, setTracking] = useState("");
  const [busy, setBusy] = useState(false);
  const { t } = useTranslation();

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    setBusy(true);
    try {
      await fn();
      await load();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const heading = t("common.orderN", { id });
  if (error && !order) return <main className="page"><h1>{heading}</h1><ErrorText>{error}</ErrorText></main>;
  if (!order) return <main className="page"><h1>{heading}</h1><Loading what={t("order.loading")} /></main>;
  const actions = ACTIONS.filter((a) => role && a.roles.includes(role) && a.from.includes(order.status));
  const total = order.items.reduce((sum, i) => sum + (i.unit_price ? Number(i.unit_price) * i.quantity : 0), 0);
  const priced = order.items.some((i) => i.unit_price);
  const d = order.delivery;
  // The details: a label's catalogue key, its value; delivered and notes only when there are any.
  const facts: [string, ReactNode][] = [
    ["order.supplier", order.supplier_name ?? (order.status === "PLACED" ? t("order.notMatched") : "—")],
    ["order.placed", dateTime(order.created_at)],
    ["order.neededBy", dateTime(order.needed_by)],
    ["order.carrier", d?.carrier ?? "—"],
    ["order.tracking", d?.tracking_ref ? <code>{d.tracking_ref}</code> : "—"],
    ["order.eta", dateTime(d?.eta ?? order.eta)],
    ...(d?.completed_at ? [["order.delivered", dateTime(d.completed_at)] as [string, ReactNode]] : []),
    ...(order.notes ? [["order.notes", order.notes] as [string, ReactNode]] : []),
  ];
  return (
    <main className="page">
      <p className="crumbs"><Link to="/orders">{t("orders.title")}</Link> / {heading}</p>
      <div className="title-row">
        <h1>{heading}</h1>
        <StatusPill status={order.status} />
      </div>
      <section className="card" aria-labelledby="progress-h">
        <h2 id="progress-h">{t("order.progress")}</h2>
        <OrderStatusTracker status={order.status} history={order.status_history} />
        {actions.length > 0 && (
          <div className="actions">
            {actions.map((a) => (
              <button key={a.to} type="button" className={a.danger ? "danger" : "primary"} disabled={busy}
                onClick={() => act(() => api.transition(order.id, a.to))}>{t(`order.actions.${a.to}`)}</button>
            ))}
          </div>
        )}
        <ErrorText>{error}</ErrorText>
      </section>

      <div className="grid-2">
        <section className="card" aria-labelledby="items-h">
          <h2 id="items-h">{t("order.parts")}</h2>
          <TableWrap label={t("order.parts")}>
            <table className="data" aria-label={t("order.parts")}>
              <thead><tr>
                <th scope="col">{t("order.part")}</th><th scope="col" className="num">{t("order.qty")}</th>
                <th scope="col" className="num">{t("order.unitPrice")}</th>
              </tr></thead>
              <tbody>
                {order.items.map((i) => (
                  <tr key={i.id}>
                    <td>
                      <span className="part-name">{i.part_name ?? t("common.partN", { id: i.part_id })}</span>
                      {i.part_sku && <code className="part-sku">{i.part_sku}</code>}
                    </td>
                    <td className="num">{i.quantity}</td>
                    <td className="num">{money(i.unit_price)}</td>
                  </tr>
                ))}
              </tbody>
              {priced && (
                <tfoot><tr><th scope="row" colSpan={2}>{t("order.total")}</th><td className="num">{money(total)}</td></tr></tfoot>
              )}
            </table>
          </TableWrap>
        </section>

        <section className="card" aria-labelledby="details-h">
          <h2 id="details-h">{t("order.details")}</h2>
          <dl className="facts">
            {facts.map(([key, value]) => <Fragment key={key}><dt>{t(key)}</dt><dd>{value}</dd></Fragment>)}
          </dl>
          {role === "supplier" && !d && ["CONFIRMED", "DISPATCHED", "IN_TRANSIT"].includes(order.status) && (
            <form className="form-grid" aria-label={t("order.planDelivery")}
              onSubmit={(e) => { e.preventDefault(); void act(() => api.planDelivery(order.id, new Date(eta).toISOString(), carrier, tracking)); }}>
              <label className="field"><span>{t("order.deliveryEta")}</span>
                <input type="datetime-local" value={eta} onChange={(e) => setEta(e.target.value)} required /></label>
              <label className="field"><span>{t("order.carrier")}</span>
                <input value={carrier} onChange={(e) => setCarrier(e.target.value)} /></label>
              <label className="field"><span>{t("order.trackingRef")}</span>
                <input value={tracking} onChange={(e) => setTracking(e.target.value)} /></label>
              <div className="form-actions"><button type="submit" className="primary" disabled={busy}>{t("order.planDelivery")}</button></div>
            </form>
          )}
        </section>
      </div>

      <section className="card" aria-labelledby="history-h">
        <h2 id="history-h">{t("order.history")}</h2>
        <ol className="history">
          {order.status_history.map((h, i) => (
            <li key={i}><StatusPill status={h.status} /> <time dateTime={h.at}>{dateTime(h.at)}</time></li>
          ))}
        </ol>
      </section>
    </main>
  );
}
