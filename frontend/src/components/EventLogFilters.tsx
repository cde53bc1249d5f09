import { useTranslation } from "react-i18next";
import { ENTITY_TYPES, entityLabel, EVENT_STATES, EVENT_TYPES } from "../lib/events";
import { statusLabel } from "../lib/format";
import { type EventLogFilters, isFiltered, NO_FILTERS } from "../hooks/useEventLog";
import { Field } from "./ui";

// Labels are catalogue keys; options show their value as people read it (event types as their codes).
const CHOICES: { key: "event_type" | "entity_type" | "state"; label: string; any: string; options: string[]; show: (v: string) => string }[] = [
  { key: "event_type", label: "log.type", any: "log.anyType", options: EVENT_TYPES, show: (v) => v },
  { key: "entity_type", label: "log.entity", any: "log.anyEntity", options: ENTITY_TYPES, show: entityLabel },
  { key: "state", label: "log.state", any: "log.anyState", options: EVENT_STATES, show: statusLabel },
];
const RANGE: { key: "date_from" | "date_to"; label: string }[] = [
  { key: "date_from", label: "log.from" },
  { key: "date_to", label: "log.to" },
];

/** The event log's filter bar: type, entity, state, a date range, and Clear filters. */
export function EventLogFilterBar({ filters, onChange }: { filters: EventLogFilters; onChange: (f: EventLogFilters) => void }) {
  const { t } = useTranslation();
  const set = (key: keyof EventLogFilters) => (e: React.ChangeEvent<HTMLSelectElement | HTMLInputElement>) =>
    onChange({ ...filters, [key]: e.target.value });
  return (
    <form className="filters" aria-label={t("log.filters")} onSubmit={(e) => e.preventDefault()}>
      {CHOICES.map(({ key, label, any, options, show }) => (
        <Field key={key} label={t(label)}>{(id) => (
          <select id={id} value={filters[key]} onChange={set(key)}>
            <option value="">{t(any)}</option>{options.map((v) => <option key={v} value={v}>{show(v)}</option>)}
          </select>)}</Field>
      ))}
      {RANGE.map(({ key, label }) => (
        <Field key={key} label={t(label)}>{(id) => (
          <input id={id} type="datetime-local" value={filters[key]} onChange={set(key)} />)}</Field>
      ))}
      <div className="form-actions">
        <button type="button" disabled={!isFiltered(filters)} onClick={() => onChange(NO_FILTERS)}>{t("log.clear")}</button>
      </div>
    </form>
  );
}
