import { RotateCcw, Zap } from "lucide-react";
import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { EventBadge } from "../components/EventBadge";
import { LiveActivityFeed } from "../components/LiveActivityFeed";
import { Empty, ErrorText, Loading, StatusPill, TableWrap, Field } from "../components/ui";
import { useOnReconnect } from "../hooks/useNotifications";
import { useSocket } from "../hooks/useSocket";
import { api } from "../lib/api";
import { dateTime, shortDateTime } from "../lib/format";
import { defaultEntity, ENTITY_TYPES, EVENT_STATES, EVENT_TYPES } from "../lib/events";
import type { EventLogEntry, EventStateMessage, Page } from "../lib/types";

const SIZE = 20;

interface Filters {
  event_type: string;
  entity_type: string;
  state: string;
  date_from: string;
  date_to: string;
}
const NO_FILTERS: Filters = { event_type: "", entity_type: "", state: "", date_from: "", date_to: "" };

/** A `datetime-local` value (the person's own time) as ISO 8601 with its offset. */
function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Apply an `event_state` message to the rows shown (rows not on this page are left alone). */
export function applyEventState(rows: EventLogEntry[], msg: EventStateMessage): EventLogEntry[] {
  return rows.map((r) =>
    r.id === msg.event_id
      ? { ...r, state: msg.state, attempts: msg.attempts, error: msg.error, processed_at: msg.processed_at }
      : r,
  );
}

export function EventLog() {
  const socket = useSocket();
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page<EventLogEntry> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [replaying, setReplaying] = useState<Set<number>>(new Set());
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  // Only the answer to the latest request counts (filters change while a page is on its way).
  const seq = useRef(0);
  const load = useCallback(() => {
    const mine = ++seq.current;
    setLoading(true);
    api.events({
      limit: SIZE, offset, event_type: filters.event_type || undefined, entity_type: filters.entity_type || undefined,
      state: filters.state || undefined, date_from: toIso(filters.date_from), date_to: toIso(filters.date_to),
    }).then(
      (p) => { if (mine !== seq.current) return; setPage(p); setError(null); setLoading(false); },
      (e: Error) => { if (mine !== seq.current) return; setError(e.message); setLoading(false); },
    );
  }, [filters, offset]);
  const latestLoad = useRef(load);
  latestLoad.current = load;
  useEffect(load, [load]);
  useOnReconnect(load);

  useEffect(() => {
    if (!socket) return;
    // A new event: the first page shows it (refetched, at most every 300 ms under bursts).
    const onSystemEvent = () => {
      if (offset !== 0 || refetchTimer.current) return;
      refetchTimer.current = setTimeout(() => {
        refetchTimer.current = null;
        latestLoad.current();
      }, 300);
    };
    const onState = (msg: EventStateMessage) => {
      setPage((p) => (p ? { ...p, items: applyEventState(p.items, msg) } : p));
      setReplaying((s) => {
        if (!s.has(msg.event_id)) return s;
        const next = new Set(s);
        next.delete(msg.event_id);
        return next;
      });
    };
    socket.on("system_event", onSystemEvent);
    socket.on("event_state", onState);
    return () => {
      socket.off("system_event", onSystemEvent);
      socket.off("event_state", onState);
      if (refetchTimer.current) clearTimeout(refetchTimer.current);
      refetchTimer.current = null;
    };
  }, [socket, offset, load]);

  const replay = async (id: number) => {
    setReplaying((s) => new Set(s).add(id));
    setError(null);
    try {
      await api.replay(id);
      setPage((p) => (p ? { ...p, items: p.items.map((r) => (r.id === id ? { ...r, state: "PENDING", error: r.error } : r)) } : p));
    } catch (e) {
      setError(`Replay of event ${id} failed: ${(e as Error).message}`);
      setReplaying((s) => {
        const next = new Set(s);
        next.delete(id);
        return next;
      });
    }
  };

  const set = (key: keyof Filters) => (e: React.ChangeEvent<HTMLSelectElement | HTMLInputElement>) => {
    setFilters((f) => ({ ...f, [key]: e.target.value }));
    setOffset(0);
  };
  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);

  return (
    <section className="card event-log" aria-labelledby="event-log-h">
      <h2 id="event-log-h">Event log</h2>
      <form className="filters" aria-label="Event log filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="Type">{(id) => (
          <select id={id} value={filters.event_type} onChange={set("event_type")}>
            <option value="">Any type</option>{EVENT_TYPES.map((t) => <option key={t}>{t}</option>)}
          </select>)}</Field>
        <Field label="Entity">{(id) => (
          <select id={id} value={filters.entity_type} onChange={set("entity_type")}>
            <option value="">Any entity</option>{ENTITY_TYPES.map((t) => <option key={t}>{t}</option>)}
          </select>)}</Field>
        <Field label="State">{(id) => (
          <select id={id} value={filters.state} onChange={set("state")}>
            <option value="">Any state</option>{EVENT_STATES.map((t) => <option key={t}>{t}</option>)}
          </select>)}</Field>
        <Field label="From">{(id) => (
          <input id={id} type="datetime-local" value={filters.date_from} onChange={set("date_from")} />)}</Field>
        <Field label="To">{(id) => (
          <input id={id} type="datetime-local" value={filters.date_to} onChange={set("date_to")} />)}</Field>
        <div className="form-actions">
          <button type="button" disabled={!filtered} onClick={() => { setFilters(NO_FILTERS); setOffset(0); }}>Clear filters</button>
        </div>
      </form>
      <ErrorText>{error}</ErrorText>
      {!page && !error && <Loading what="Loading events…" />}
      {page && page.items.length === 0 && <Empty>{filtered ? "No events match these filters." : "No events yet."}</Empty>}
      {page && page.items.length > 0 && (
        <TableWrap label="Event log">
          <table className="data cards-phone" aria-label="Event log" aria-busy={loading}>
            <thead>
              <tr>
                <th scope="col">Time</th><th scope="col">Type</th><th scope="col">Entity</th><th scope="col">State</th>
                <th scope="col" className="num">Attempts</th><th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((e) => (
                <tr key={e.id} data-event-id={e.id} data-state={e.state}>
                  <td className="nowrap" data-label="Time"><time dateTime={e.created_at} title={dateTime(e.created_at)}>{shortDateTime(e.created_at)}</time></td>
                  <td data-label="Type"><EventBadge type={e.event_type} /></td>
                  <td className="nowrap" data-label="Entity">{e.entity_type} {e.entity_id}</td>
                  <td data-label="State">
                    <span className="state-cell">
                      <StatusPill status={e.state} />
                      {e.state === "FAILED" && (
                        <button type="button" className="button-small" disabled={replaying.has(e.id)}
                          onClick={() => void replay(e.id)}>
                          <RotateCcw size={14} aria-hidden="true" /> Replay
                        </button>
                      )}
                    </span>
                  </td>
                  <td className="num" data-label="Attempts">{e.attempts ?? "—"}</td>
                  <td className="error-cell" data-label="Error">{e.error ? e.error : <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {page && (
        <nav aria-label="Event log pages" className="pager">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - SIZE))}>Previous</button>
          <span>{page.total === 0 ? 0 : offset + 1}–{Math.min(offset + SIZE, page.total)} of {page.total}</span>
          <button type="button" disabled={offset + SIZE >= page.total} onClick={() => setOffset(offset + SIZE)}>Next</button>
        </nav>
      )}
    </section>
  );
}

function FireEvent() {
  const [eventType, setEventType] = useState("ORDER_DISPATCHED");
  const [entityType, setEntityType] = useState("order");
  const [entityId, setEntityId] = useState(1);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setMessage(null);
    setError(null);
    try {
      const { event_id } = await api.fireEvent(eventType, entityType, entityId);
      setMessage(`Event ${event_id} accepted.`);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form onSubmit={submit} aria-labelledby="fire-h" className="card form-grid fire">
      <h2 id="fire-h">Fire an event</h2>
      <Field label="Event type">{(id) => (
        <select id={id} value={eventType} onChange={(e) => { setEventType(e.target.value); setEntityType(defaultEntity(e.target.value)); }}>
          {EVENT_TYPES.map((t) => <option key={t}>{t}</option>)}
        </select>)}</Field>
      <Field label="Entity type">{(id) => (
        <select id={id} value={entityType} onChange={(e) => setEntityType(e.target.value)}>
          {ENTITY_TYPES.map((t) => <option key={t}>{t}</option>)}
        </select>)}</Field>
      <label className="field"><span>Entity id</span>
        <input type="number" min={1} value={entityId} onChange={(e) => setEntityId(Number(e.target.value))} required /></label>
      <div className="form-actions">
        <button type="submit" className="primary"><Zap size={16} aria-hidden="true" /> Fire</button>
      </div>
      {message && <p role="status" className="ok-text">{message}</p>}
      <ErrorText>{error}</ErrorText>
    </form>
  );
}

export function AdminPage() {
  return (
    <main className="page page-wide admin">
      <h1>Marketplace activity</h1>
      <div className="admin-grid">
        <div className="admin-side">
          <LiveActivityFeed />
          <FireEvent />
        </div>
        <EventLog />
      </div>
    </main>
  );
}
