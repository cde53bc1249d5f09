import { Check, LoaderCircle } from "lucide-react";
import { type FormEvent, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import type { AppNotification, NotificationAction } from "../lib/types";
import { useNotificationStore } from "../stores/notifications";

/** Actions that ask for something first: a quantity (restock) or a reason, in place. */
const NEEDS: Record<string, "quantity" | "reason" | "reason?"> = {
  restock: "quantity",
  dispute_eta: "reason",
  decline: "reason?",
  cancel: "reason?",
};

function doneAt(iso: string | null, locale: string): string {
  if (!iso) return "";
  return new Date(iso).toLocaleString(locale, { dateStyle: "short", timeStyle: "short" });
}

/**
 * A notification's actions as buttons named by their (English) label; primary ones filled,
 * secondary ones quieter. A press shows a pending state; a refusal (409) shows its reason in
 * place; restock and the reason-taking actions open a field in place first. Done and
 * unavailable actions say so, with who and when.
 */
export function NotificationActions({ n }: { n: AppNotification }) {
  const { t, i18n } = useTranslation();
  const [pending, setPending] = useState<string | null>(null);
  const [asking, setAsking] = useState<string | null>(null);
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const fieldId = useId();
  const actions = n.actions ?? [];
  if (actions.length === 0) return null;

  const run = async (a: NotificationAction, body: { quantity?: number; reason?: string } = {}) => {
    setPending(a.id);
    setError(null);
    const failed = await useNotificationStore.getState().act(n.id, a.id, body);
    setPending(null);
    setError(failed);
    if (!failed) {
      setAsking(null);
      setValue("");
    }
  };

  const press = (a: NotificationAction) => {
    if (NEEDS[a.id]) {
      setAsking(asking === a.id ? null : a.id);
      setValue("");
      setError(null);
    } else {
      void run(a);
    }
  };

  const submit = (e: FormEvent, a: NotificationAction) => {
    e.preventDefault();
    const need = NEEDS[a.id];
    if (need === "quantity") {
      const quantity = Number(value);
      if (!Number.isInteger(quantity) || quantity < 1 || quantity > 1_000_000) {
        setError(t("actions.quantityRange"));
        return;
      }
      void run(a, { quantity });
    } else {
      const reason = value.trim();
      if (need === "reason" && !reason) {
        setError(t("actions.reasonNeeded"));
        return;
      }
      void run(a, reason ? { reason } : {});
    }
  };

  const open = actions.filter((a) => a.state === "open");
  const closed = actions.filter((a) => a.state !== "open");
  const form = open.find((a) => a.id === asking);
  return (
    <div className="note-act" data-actions-for={n.id}>
      {open.length > 0 && (
        <div className="note-act-buttons">
          {open.map((a) => (
            <button
              key={a.id}
              type="button"
              className={`button-small ${a.kind === "primary" ? "primary" : "secondary"}`}
              aria-label={a.label}
              aria-expanded={NEEDS[a.id] ? asking === a.id : undefined}
              aria-busy={pending === a.id}
              disabled={pending !== null}
              data-action={a.id}
              onClick={() => press(a)}
            >
              {pending === a.id && <LoaderCircle className="spin" size={14} aria-hidden="true" />}
              {t(`actions.label.${a.id}`, { defaultValue: a.label })}
            </button>
          ))}
        </div>
      )}
      {form && (
        <form className="note-act-form" noValidate onSubmit={(e) => submit(e, form)}
          onKeyDown={(e) => { if (e.key === "Escape") { e.stopPropagation(); setAsking(null); } }}>
          <label htmlFor={fieldId} className="sr-only">
            {NEEDS[form.id] === "quantity" ? t("actions.quantity") : t("actions.reason")}
          </label>
          {NEEDS[form.id] === "quantity" ? (
            <input id={fieldId} type="number" inputMode="numeric" min={1} max={1_000_000} step={1} required autoFocus
              value={value} onChange={(e) => setValue(e.target.value)} />
          ) : (
            <input id={fieldId} type="text" maxLength={500} autoFocus required={NEEDS[form.id] === "reason"}
              value={value} onChange={(e) => setValue(e.target.value)} />
          )}
          <button type="submit" className="button-small primary" disabled={pending !== null} aria-busy={pending === form.id}
            aria-label={`Send: ${form.label}`}>
            {pending === form.id && <LoaderCircle className="spin" size={14} aria-hidden="true" />}
            {t("actions.send")}
          </button>
        </form>
      )}
      {closed.length > 0 && (
        <ul className="note-act-states">
          {closed.map((a) => (
            <li key={a.id} data-action-state={a.state} data-action={a.id}>
              {a.state === "done" && <Check size={14} aria-hidden="true" />}
              {a.state === "done"
                ? t(a.done_by ? "actions.doneBy" : "actions.done", {
                  label: t(`actions.label.${a.id}`, { defaultValue: a.label }), by: a.done_by, at: doneAt(a.done_at, i18n.language),
                })
                : t("actions.unavailable", { label: t(`actions.label.${a.id}`, { defaultValue: a.label }) })}
            </li>
          ))}
        </ul>
      )}
      {error && <p className="error-text note-act-error" role="alert">{error}</p>}
    </div>
  );
}
