import { formatDistanceToNowStrict } from "date-fns";
import { useEffect, useState } from "react";

/** "just now", "3 minutes ago"... relative to `now`. */
export function timeAgo(iso: string, now: number = Date.now()): string {
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return "";
  if (now - then < 45_000) return "just now";
  return formatDistanceToNowStrict(then, { addSuffix: true, roundingMethod: "floor" });
}

export function badgeText(count: number): string | null {
  if (count <= 0) return null;
  return count > 99 ? "99+" : String(count);
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "—" : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Compact, for dense tables: the time alone today, else the day and time. */
export function shortDateTime(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString(undefined, { timeStyle: "medium" });
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
}

export function money(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  return Number.isFinite(n) ? n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : String(value);
}

export function statusLabel(status: string): string {
  return status.charAt(0) + status.slice(1).toLowerCase().replace(/_/g, " ");
}

// One shared ticking clock for every relative time on the page.
const listeners = new Set<(now: number) => void>();
let timer: ReturnType<typeof setInterval> | null = null;

/** The current time, re-rendering the caller every `TICK_MS` so "time ago" stays true. */
export const TICK_MS = 30_000;
export function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    listeners.add(setNow);
    if (!timer) timer = setInterval(() => listeners.forEach((l) => l(Date.now())), TICK_MS);
    return () => {
      listeners.delete(setNow);
      if (listeners.size === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    };
  }, []);
  return now;
}

export function TimeAgo({ iso }: { iso: string }) {
  const now = useNow();
  return <time dateTime={iso} title={dateTime(iso)}>{timeAgo(iso, now)}</time>;
}
