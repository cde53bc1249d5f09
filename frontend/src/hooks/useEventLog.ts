import { useCallback, useEffect, useRef, useState } from "react";
import i18n from "../i18n";
import { api } from "../lib/api";
import type { EventLogEntry, EventStateMessage, Page } from "../lib/types";
import { useOnReconnect } from "./useNotifications";
import { useSocketEvent } from "./useSocket";

export const EVENT_LOG_PAGE_SIZE = 20;

export interface EventLogFilters {
  event_type: string;
  entity_type: string;
  state: string;
  date_from: string;
  date_to: string;
}
export const NO_FILTERS: EventLogFilters = { event_type: "", entity_type: "", state: "", date_from: "", date_to: "" };

export function isFiltered(filters: EventLogFilters): boolean {
  return JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);
}

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

function without(set: Set<number>, id: number): Set<number> {
  if (!set.has(id)) return set;
  const next = new Set(set);
  next.delete(id);
  return next;
}

/**
 * One page of the event log for `filters` at `offset`, kept live: new events refetch the first
 * page (at most every 300 ms under bursts), `event_state` moves the rows shown, and `replay`
 * hands a failed event over again.
 */
export function useEventLog(filters: EventLogFilters, offset: number) {
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
      limit: EVENT_LOG_PAGE_SIZE, offset, event_type: filters.event_type || undefined,
      entity_type: filters.entity_type || undefined, state: filters.state || undefined,
      date_from: toIso(filters.date_from), date_to: toIso(filters.date_to),
    }).then(
      (p) => { if (mine !== seq.current) return; setPage(p); setError(null); setLoading(false); },
      (e: Error) => { if (mine !== seq.current) return; setError(e.message); setLoading(false); },
    );
  }, [filters, offset]);
  const latestLoad = useRef(load);
  latestLoad.current = load;
  useEffect(load, [load]);
  useOnReconnect(load);

  // A new event: the first page shows it (refetched, at most every 300 ms under bursts).
  useSocketEvent("system_event", () => {
    if (offset !== 0 || refetchTimer.current) return;
    refetchTimer.current = setTimeout(() => {
      refetchTimer.current = null;
      latestLoad.current();
    }, 300);
  });
  useEffect(() => () => {
    if (refetchTimer.current) clearTimeout(refetchTimer.current);
    refetchTimer.current = null;
  }, [offset]);
  useSocketEvent<EventStateMessage>("event_state", (msg) => {
    setPage((p) => (p ? { ...p, items: applyEventState(p.items, msg) } : p));
    setReplaying((s) => without(s, msg.event_id));
  });

  const replay = async (id: number) => {
    setReplaying((s) => new Set(s).add(id));
    setError(null);
    try {
      await api.replay(id);
      setPage((p) => (p ? { ...p, items: p.items.map((r) => (r.id === id ? { ...r, state: "PENDING", error: r.error } : r)) } : p));
    } catch (e) {
      setError(i18n.t("log.replayFailed", { id, message: (e as Error).message }));
      setReplaying((s) => without(s, id));
    }
  };

  return { page, error, loading, replaying, replay };
}
