import { type FormEvent, useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { useSocket } from "../hooks/useSocket";
import { api } from "../lib/api";
import type { Order, Part } from "../lib/types";
import { useAuth } from "../stores/auth";

function PlaceOrder({ onPlaced }: { onPlaced: () => void }) {
  const [parts, setParts] = useState<Part[]>([]);
  const [partId, setPartId] = useState("");
  const [quantity, setQuantity] = useState(1);
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    api.parts().then((p) => setParts(p.items), (e: Error) => setMessage(e.message));
  }, []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const order = await api.placeOrder([{ part_id: Number(partId), quantity }]);
      setMessage(`Order #${order.id} placed`);
      onPlaced();
    } catch (err) {
      setMessage((err as Error).message);
    }
  };
  return (
    <form className="place-order" onSubmit={submit} aria-label="Place an order">
      <label>
        Part
        <select value={partId} onChange={(e) => setPartId(e.target.value)} required>
          <option value="">Choose a part…</option>
          {parts.map((p) => <option key={p.id} value={p.id}>{p.name} ({p.sku})</option>)}
        </select>
      </label>
      <label>
        Quantity
        <input type="number" min={1} value={quantity} onChange={(e) => setQuantity(Number(e.target.value))} />
      </label>
      <button type="submit">Place order</button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}

export function OrdersPage() {
  const user = useAuth((s) => s.user);
  const socket = useSocket();
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = () => api.orders().then((p) => setOrders(p.items), (e: Error) => setError(e.message));
  useEffect(() => {
    reload();
  }, []);
  useEffect(() => {
    if (!socket) return;
    const onStatus = () => reload();
    socket.on("order_status", onStatus);
    return () => {
      socket.off("order_status", onStatus);
    };
  }, [socket]);
  return (
    <main>
      <h1>Orders</h1>
      {user?.role === "buyer" && <PlaceOrder onPlaced={reload} />}
      {error && <p role="alert">{error}</p>}
      {orders === null && !error && <p className="muted">Loading orders…</p>}
      {orders?.length === 0 && <p className="muted">No orders yet.</p>}
      {orders && orders.length > 0 && (
        <table>
          <thead><tr><th>Order</th><th>Status</th><th>Items</th><th>Placed</th></tr></thead>
          <tbody>
            {orders.map((o) => (
              <tr key={o.id}>
                <td><Link to={`/orders/${o.id}`}>Order #{o.id}</Link></td>
                <td>{o.status}</td>
                <td>{o.items.reduce((n, i) => n + i.quantity, 0)} units</td>
                <td>{new Date(o.created_at).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
