import { CircleAlert, Inbox, LoaderCircle } from "lucide-react";
import { type ReactNode, useId } from "react";
import { useTranslation } from "react-i18next";
import { statusLabel } from "../lib/format";

export function Loading({ what }: { what?: string }) {
  const { t } = useTranslation();
  return (
    <p className="empty" role="status">
      <LoaderCircle className="spin" size={18} aria-hidden="true" /> {what ?? t("common.loading")}
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
  useTranslation(); // re-rendered when the language changes
  return <span className={`pill pill-${status.toLowerCase()}`}>{statusLabel(status)}</span>;
}

/** A table that scrolls sideways on narrow windows; focusable so keyboards can scroll it too. */
export function TableWrap({ label, card = false, children }: { label: string; card?: boolean; children: ReactNode }) {
  const { t } = useTranslation();
  return (
    <div className={card ? "table-wrap card" : "table-wrap"} role="region" aria-label={t("common.scrollable", { label })} tabIndex={0}>
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

/** Previous / "from–to of total" / Next for a list paged by offset. */
export function Pager({ label, offset, size, total, onChange }: {
  label: string; offset: number; size: number; total: number; onChange: (offset: number) => void;
}) {
  const { t } = useTranslation();
  return (
    <nav aria-label={label} className="pager">
      <button type="button" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - size))}>{t("common.previous")}</button>
      <span>{t("common.range", { from: total === 0 ? 0 : offset + 1, to: Math.min(offset + size, total), total })}</span>
      <button type="button" disabled={offset + size >= total} onClick={() => onChange(offset + size)}>{t("common.next")}</button>
    </nav>
  );
}
