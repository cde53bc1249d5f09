import { type FormEvent, useCallback, useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { Empty, ErrorText, Field, Loading, StatusPill, TableWrap } from "../components/ui";
import { useOnReconnect } from "../hooks/useNotifications";
import { useSocket } from "../hooks/useSocket";
import { api } from "../lib/api";
import { dateTime } from "../lib/format";
import type { Order, Part } from "../lib/types";
import { useAuth } from "../stores/auth";

function PlaceOrder({ onPlaced }: { onPlaced: () => void }) {
  const [parts, setParts] = useState<Part[]>([]);
  const [partId, setPartId] = useState("");
  const [quantity, setQuantity] = useState(1);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.parts().then((p) => setParts(p.items), (e: Error) => setError(e.message));
  }, []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setMessage(null);
    try {
      const order = await api.placeOrder([{ part_id: Number(partId), quantity }]);
      setMessage(`Order #${order.id} placed`);
      onPlaced();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form className="card form-grid" onSubmit={submit} aria-label="Place an order">
      <h2>Place an order</h2>
      <Field label="Part">{(id) => (
        <select id={id} value={partId} onChange={(e) => setPartId(e.target.value)} required>
          <option value="">Choose a part…</option>
          {parts.map((p) => <option key={p.id} value={p.id}>{p.name} ({p.sku})</option>)}
        </select>
      )}</Field>
      <label className="field">
        <span>Quantity</span>
        <input type="number" min={1} value={quantity} onChange={(e) => setQuantity(Number(e.target.value))} />
      </label>
      <div className="form-actions">
        <button type="submit" className="primary">Place order</button>
      </div>
      {message && <p role="status" className="ok-text">{message}</p>}
      <ErrorText>{error}</ErrorText>
    </form>
  );
}

function itemsSummary(o: Order): string {
  const first = o.items[0];
  if (!first) return "—";
  const name = first.part_name ?? `Part ${first.part_id}`;
  const more = o.items.length > 1 ? ` and ${o.items.length - 1} more` : "";
  return `${name} × ${first.quantity}${more}`;
}

export function OrdersPage() {
  const user = useAuth((s) => s.user);
  const socket = useSocket();
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    api.orders().then((p) => { setOrders(p.items); setError(null); }, (e: Error) => setError(e.message));
  }, []);
  useEffect(reload, [reload]);
  useOnReconnect(reload);
  useEffect(() => {
    if (!socket) return;
    socket.on("order_status", reload);
    return () => {
      socket.off("order_status", reload);
    };
  }, [socket, reload]);
  return (
    <main className="page">
      <h1>Orders</h1>
      {user?.role === "buyer" && <PlaceOrder onPlaced={reload} />}
      <ErrorText>{error}</ErrorText>
      {orders === null && !error && <Loading what="Loading orders…" />}
      {orders?.length === 0 && <Empty>No orders yet.</Empty>}
      {orders && orders.length > 0 && (
        <TableWrap label="Orders" card>
          <table className="data cards-phone" aria-label="Orders">
            <thead><tr><th scope="col">Order</th><th scope="col">Status</th><th scope="col">Items</th><th scope="col">Supplier</th><th scope="col">Placed</th></tr></thead>
            <tbody>
              {orders.map((o) => (
                <tr key={o.id}>
                  <td data-label="Order"><Link to={`/orders/${o.id}`}>Order #{o.id}</Link></td>
                  <td data-label="Status"><StatusPill status={o.status} /></td>
                  <td data-label="Items">{itemsSummary(o)}</td>
                  <td data-label="Supplier">{o.supplier_name ?? "—"}</td>
                  <td data-label="Placed">{dateTime(o.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </main>
  );
}
