import { useCallback, useEffect, useState } from "react";
import { useParams } from "react-router-dom";
import { OrderStatusTracker } from "../components/OrderStatusTracker";
import { api } from "../lib/api";
import type { Order, OrderStatus, Role } from "../lib/types";
import { useAuth } from "../stores/auth";

const ACTIONS: { to: OrderStatus; from: OrderStatus[]; roles: Role[]; label: string }[] = [
  { to: "CONFIRMED", from: ["MATCHED"], roles: ["supplier"], label: "Confirm" },
  { to: "DISPATCHED", from: ["CONFIRMED"], roles: ["supplier"], label: "Dispatch" },
  { to: "IN_TRANSIT", from: ["DISPATCHED"], roles: ["supplier"], label: "Mark in transit" },
  { to: "DELIVERED", from: ["IN_TRANSIT"], roles: ["buyer", "supplier", "admin"], label: "Mark delivered" },
  { to: "CANCELLED", from: ["PLACED", "MATCHED", "CONFIRMED"], roles: ["buyer", "admin"], label: "Cancel order" },
];

export function OrderDetailPage() {
  const id = Number(useParams().id);
  const role = useAuth((s) => s.user?.role);
  const [order, setOrder] = useState<Order | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [eta, setEta] = useState("");
  const load = useCallback(() => api.order(id).then(setOrder, (e: Error) => setError(e.message)), [id]);
  useEffect(() => {
    load();
  }, [load]);

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  if (error && !order) return <main><p role="alert">{error}</p></main>;
  if (!order) return <main><p className="muted">Loading order…</p></main>;
  const actions = ACTIONS.filter((a) => role && a.roles.includes(role) && a.from.includes(order.status));
  return (
    <main>
      <h1>Order #{order.id}</h1>
      <OrderStatusTracker order_id={order.id} onChange={() => void load()} />
      <p>Status: <strong>{order.status}</strong>{order.eta && <> · ETA {new Date(order.eta).toLocaleString()}</>}</p>
      <ul>
        {order.items.map((i) => (
          <li key={i.id}>Part {i.part_id} × {i.quantity}{i.unit_price && ` at ${i.unit_price}`}</li>
        ))}
      </ul>
      {error && <p role="alert" className="error">{error}</p>}
      <div className="actions">
        {actions.map((a) => (
          <button key={a.to} type="button" onClick={() => act(() => api.transition(order.id, a.to))}>{a.label}</button>
        ))}
      </div>
      {role === "supplier" && ["CONFIRMED", "DISPATCHED", "IN_TRANSIT"].includes(order.status) && (
        <form onSubmit={(e) => { e.preventDefault(); void act(() => api.planDelivery(order.id, new Date(eta).toISOString())); }}>
          <label>Delivery ETA <input type="datetime-local" value={eta} onChange={(e) => setEta(e.target.value)} required /></label>
          <button type="submit">Plan delivery</button>
        </form>
      )}
    </main>
  );
}
