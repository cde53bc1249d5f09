import { type FormEvent, useEffect, useState } from "react";
import { LiveActivityFeed } from "../components/LiveActivityFeed";
import { api } from "../lib/api";
import type { EventLogEntry } from "../lib/types";

const EVENT_TYPES = [
  "ORDER_PLACED", "SUPPLIER_MATCHED", "ORDER_CONFIRMED", "ORDER_DISPATCHED", "ORDER_IN_TRANSIT",
  "ORDER_DELIVERED", "ORDER_CANCELLED", "LOW_STOCK_ALERT", "DELIVERY_PLANNED", "DELIVERY_COMPLETED",
  "ETA_UPDATED", "MATCHING_FAILED",
];

function EventLog() {
  const [eventType, setEventType] = useState("");
  const [entityType, setEntityType] = useState("");
  const [entries, setEntries] = useState<EventLogEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const params: Record<string, string> = { limit: "50" };
    if (eventType) params.event_type = eventType;
    if (entityType) params.entity_type = entityType;
    api.events(params).then((p) => setEntries(p.items), (e: Error) => setError(e.message));
  }, [eventType, entityType]);
  return (
    <section aria-label="Event log">
      <h2>Event log</h2>
      <label>Event type <select value={eventType} onChange={(e) => setEventType(e.target.value)}>
        <option value="">Any</option>{EVENT_TYPES.map((t) => <option key={t}>{t}</option>)}
      </select></label>
      <label>Entity <select value={entityType} onChange={(e) => setEntityType(e.target.value)}>
        <option value="">Any</option>{["order", "inventory"].map((t) => <option key={t}>{t}</option>)}
      </select></label>
      {error && <p role="alert">{error}</p>}
      {entries?.length === 0 && <p className="muted">No events.</p>}
      <table>
        <tbody>
          {entries?.map((e) => (
            <tr key={e.id}><td>{new Date(e.created_at).toLocaleString()}</td><td>{e.event_type}</td><td>{e.entity_type} {e.entity_id}</td><td>{e.state}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function FireEvent() {
  const [eventType, setEventType] = useState("ORDER_DISPATCHED");
  const [entityId, setEntityId] = useState(1);
  const [message, setMessage] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const entity = eventType === "LOW_STOCK_ALERT" ? "inventory" : "order";
    try {
      const { event_id } = await api.fireEvent(eventType, entity, entityId);
      setMessage(`Event ${event_id} accepted`);
    } catch (err) {
      setMessage((err as Error).message);
    }
  };
  return (
    <form onSubmit={submit} aria-label="Fire an event">
      <h2>Fire an event</h2>
      <label>Type <select value={eventType} onChange={(e) => setEventType(e.target.value)}>
        {EVENT_TYPES.map((t) => <option key={t}>{t}</option>)}
      </select></label>
      <label>Entity id <input type="number" min={1} value={entityId} onChange={(e) => setEntityId(Number(e.target.value))} /></label>
      <button type="submit">Fire</button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}

export function AdminPage() {
  return (
    <main className="admin">
      <h1>Marketplace activity</h1>
      <LiveActivityFeed />
      <FireEvent />
      <EventLog />
    </main>
  );
}
