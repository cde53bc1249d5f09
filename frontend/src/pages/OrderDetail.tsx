import { useCallback, useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { nextStatus, OrderStatusTracker } from "../components/OrderStatusTracker";
import { ErrorText, Loading, StatusPill, TableWrap } from "../components/ui";
import { useOnReconnect } from "../hooks/useNotifications";
import { useSocket } from "../hooks/useSocket";
import { api } from "../lib/api";
import { dateTime, money } from "../lib/format";
import type { Order, OrderStatus, Role } from "../lib/types";
import { useAuth } from "../stores/auth";

const ACTIONS: { to: OrderStatus; from: OrderStatus[]; roles: Role[]; label: string; danger?: boolean }[] = [
  { to: "CONFIRMED", from: ["MATCHED"], roles: ["supplier"], label: "Confirm" },
  { to: "DISPATCHED", from: ["CONFIRMED"], roles: ["supplier"], label: "Dispatch" },
  { to: "IN_TRANSIT", from: ["DISPATCHED"], roles: ["supplier"], label: "Mark in transit" },
  { to: "DELIVERED", from: ["IN_TRANSIT"], roles: ["buyer", "supplier", "admin"], label: "Mark delivered" },
  { to: "CANCELLED", from: ["PLACED", "MATCHED", "CONFIRMED"], roles: ["buyer", "admin"], label: "Cancel order", danger: true },
];

/** Loads an order and follows it live: the status only moves forward; details are refetched. */
function useLiveOrder(id: number) {
  const socket = useSocket();
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
  useEffect(() => {
    if (!socket) return;
    const onStatus = (p: { order_id: number; status: OrderStatus }) => {
      if (p.order_id !== id) return;
      setOrder((prev) => (prev ? { ...prev, status: nextStatus(prev.status, p.status) } : prev));
      void load();
    };
    socket.on("order_status", onStatus);
    return () => {
      socket.off("order_status", onStatus);
    };
  }, [socket, id, load]);
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

  if (error && !order) return <main className="page"><h1>Order #{id}</h1><ErrorText>{error}</ErrorText></main>;
  if (!order) return <main className="page"><h1>Order #{id}</h1><Loading what="Loading order…" /></main>;
  const actions = ACTIONS.filter((a) => role && a.roles.includes(role) && a.from.includes(order.status));
  const total = order.items.reduce((sum, i) => sum + (i.unit_price ? Number(i.unit_price) * i.quantity : 0), 0);
  const priced = order.items.some((i) => i.unit_price);
  const d = order.delivery;
  return (
    <main className="page">
      <p className="crumbs"><Link to="/orders">Orders</Link> / Order #{order.id}</p>
      <div className="title-row">
        <h1>Order #{order.id}</h1>
        <StatusPill status={order.status} />
      </div>
      <section className="card" aria-labelledby="progress-h">
        <h2 id="progress-h">Progress</h2>
        <OrderStatusTracker status={order.status} history={order.status_history} />
        {actions.length > 0 && (
          <div className="actions">
            {actions.map((a) => (
              <button key={a.to} type="button" className={a.danger ? "danger" : "primary"} disabled={busy}
                onClick={() => act(() => api.transition(order.id, a.to))}>{a.label}</button>
            ))}
          </div>
        )}
        <ErrorText>{error}</ErrorText>
      </section>

      <div className="grid-2">
        <section className="card" aria-labelledby="items-h">
          <h2 id="items-h">Parts</h2>
          <TableWrap label="Parts">
            <table className="data" aria-label="Parts">
              <thead><tr><th scope="col">Part</th><th scope="col" className="num">Qty</th><th scope="col" className="num">Unit price</th></tr></thead>
              <tbody>
                {order.items.map((i) => (
                  <tr key={i.id}>
                    <td>
                      <span className="part-name">{i.part_name ?? `Part ${i.part_id}`}</span>
                      {i.part_sku && <code className="part-sku">{i.part_sku}</code>}
                    </td>
                    <td className="num">{i.quantity}</td>
                    <td className="num">{money(i.unit_price)}</td>
                  </tr>
                ))}
              </tbody>
              {priced && (
                <tfoot><tr><th scope="row" colSpan={2}>Total</th><td className="num">{money(total)}</td></tr></tfoot>
              )}
            </table>
          </TableWrap>
        </section>

        <section className="card" aria-labelledby="details-h">
          <h2 id="details-h">Details</h2>
          <dl className="facts">
            <dt>Supplier</dt><dd>{order.supplier_name ?? (order.status === "PLACED" ? "Not matched yet" : "—")}</dd>
            <dt>Placed</dt><dd>{dateTime(order.created_at)}</dd>
            <dt>Needed by</dt><dd>{dateTime(order.needed_by)}</dd>
            <dt>Carrier</dt><dd>{d?.carrier ?? "—"}</dd>
            <dt>Tracking</dt><dd>{d?.tracking_ref ? <code>{d.tracking_ref}</code> : "—"}</dd>
            <dt>ETA</dt><dd>{dateTime(d?.eta ?? order.eta)}</dd>
            {d?.completed_at && <><dt>Delivered</dt><dd>{dateTime(d.completed_at)}</dd></>}
            {order.notes && <><dt>Notes</dt><dd>{order.notes}</dd></>}
          </dl>
          {role === "supplier" && !d && ["CONFIRMED", "DISPATCHED", "IN_TRANSIT"].includes(order.status) && (
            <form className="form-grid" aria-label="Plan delivery"
              onSubmit={(e) => { e.preventDefault(); void act(() => api.planDelivery(order.id, new Date(eta).toISOString(), carrier, tracking)); }}>
              <label className="field"><span>Delivery ETA</span>
                <input type="datetime-local" value={eta} onChange={(e) => setEta(e.target.value)} required /></label>
              <label className="field"><span>Carrier</span>
                <input value={carrier} onChange={(e) => setCarrier(e.target.value)} /></label>
              <label className="field"><span>Tracking reference</span>
                <input value={tracking} onChange={(e) => setTracking(e.target.value)} /></label>
              <div className="form-actions"><button type="submit" className="primary" disabled={busy}>Plan delivery</button></div>
            </form>
          )}
        </section>
      </div>

      <section className="card" aria-labelledby="history-h">
        <h2 id="history-h">Status history</h2>
        <ol className="history">
          {order.status_history.map((h, i) => (
            <li key={i}><StatusPill status={h.status} /> <time dateTime={h.at}>{dateTime(h.at)}</time></li>
          ))}
        </ol>
      </section>
    </main>
  );
}
