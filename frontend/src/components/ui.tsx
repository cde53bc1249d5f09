import { CircleAlert, Inbox, LoaderCircle } from "lucide-react";
import { type ReactNode, useId } from "react";
import { statusLabel } from "../lib/format";

export function Loading({ what = "Loading…" }: { what?: string }) {
  return (
    <p className="empty" role="status">
      <LoaderCircle className="spin" size={18} aria-hidden="true" /> {what}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <p className="empty">
      <Inbox size={18} aria-hidden="true" /> {children}
    </p>
  );
}

export function ErrorText({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <p className="error-text" role="alert">
      <CircleAlert size={16} aria-hidden="true" /> {children}
    </p>
  );
}

/** An order or event status as a small pill (text, not colour alone). */
export function StatusPill({ status }: { status: string }) {
  return <span className={`pill pill-${status.toLowerCase()}`}>{statusLabel(status)}</span>;
}

/** A table that scrolls sideways on narrow windows; focusable so keyboards can scroll it too. */
export function TableWrap({ label, card = false, children }: { label: string; card?: boolean; children: ReactNode }) {
  return (
    <div className={card ? "table-wrap card" : "table-wrap"} role="region" aria-label={`${label}, scrollable`} tabIndex={0}>
      {children}
    </div>
  );
}

/** A labelled field: the label names only its control (a wrapping label would include a select's options). */
export function Field({ label, children }: { label: string; children: (id: string) => ReactNode }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
    </div>
  );
}
