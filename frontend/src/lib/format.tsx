import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import i18n, { currentLocale, timeZone } from "../i18n";

// Every date, time and number goes through Intl in the user's locale and time zone.

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 86400e3], ["month", 30 * 86400e3], ["day", 86400e3], ["hour", 3600e3], ["minute", 60e3],
];

/** "just now", "3 minutes ago"... relative to `now`, in the current locale. */
export function timeAgo(iso: string, now: number = Date.now()): string {
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return "";
  const elapsed = now - then;
  if (elapsed < 45_000) return i18n.t("time.justNow");
  const [unit, size] = UNITS.find(([, ms]) => Math.abs(elapsed) >= ms) ?? UNITS[UNITS.length - 1];
  const amount = Math.max(1, Math.floor(Math.abs(elapsed) / size));
  return new Intl.RelativeTimeFormat(currentLocale(), { numeric: "always" }).format(elapsed > 0 ? -amount : amount, unit);
}

export function badgeText(count: number): string | null {
  if (count <= 0) return null;
  return count > 99 ? "99+" : String(count);
}

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function dateTime(iso: string | null | undefined): string {
  const d = parse(iso);
  return d ? d.toLocaleString(currentLocale(), { dateStyle: "medium", timeStyle: "short", timeZone: timeZone() }) : "—";
}

/** Compact, for dense tables: the time alone today (in the user's zone), else the day and time. */
export function shortDateTime(iso: string | null | undefined, now: Date = new Date()): string {
  const d = parse(iso);
  if (!d) return "—";
  const zone = timeZone();
  const day = (x: Date) => x.toLocaleDateString("en-CA", { timeZone: zone });
  if (day(d) === day(now)) return d.toLocaleTimeString(currentLocale(), { timeStyle: "medium", timeZone: zone });
  return d.toLocaleString(currentLocale(), { month: "short", day: "numeric", hour: "numeric", minute: "2-digit", timeZone: zone });
}

export function money(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  return Number.isFinite(n) ? n.toLocaleString(currentLocale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : String(value);
}

/** An order or event status as people read it ("In transit"); unknown ones as their code. */
export function statusLabel(status: string): string {
  return i18n.t(`status.${status}`, { defaultValue: status.charAt(0) + status.slice(1).toLowerCase().replace(/_/g, " ") });
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
  useTranslation(); // re-rendered when the language changes
  return <time dateTime={iso} title={dateTime(iso)}>{timeAgo(iso, now)}</time>;
}
