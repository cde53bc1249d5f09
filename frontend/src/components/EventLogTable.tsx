import { RotateCcw } from "lucide-react";
import { useTranslation } from "react-i18next";
import { entityLabel } from "../lib/events";
import { dateTime, shortDateTime } from "../lib/format";
import type { EventLogEntry } from "../lib/types";
import { EventBadge } from "./EventBadge";
import { StatusPill, TableWrap } from "./ui";

interface RowProps {
  event: EventLogEntry;
  replaying: boolean;
  onReplay: (id: number) => void;
}

/** One event: time, type, entity, state (a failed one with its Replay button), attempts, error. */
export function EventLogRow({ event: e, replaying, onReplay }: RowProps) {
  const { t } = useTranslation();
  return (
    <tr data-event-id={e.id} data-state={e.state}>
      <td className="nowrap" data-label={t("log.time")}><time dateTime={e.created_at} title={dateTime(e.created_at)}>{shortDateTime(e.created_at)}</time></td>
      <td data-label={t("log.type")}><EventBadge type={e.event_type} /></td>
      <td className="nowrap" data-label={t("log.entity")}>{t("log.entityOf", { type: entityLabel(e.entity_type), id: e.entity_id })}</td>
      <td data-label={t("log.state")}>
        <span className="state-cell">
          <StatusPill status={e.state} />
          {e.state === "FAILED" && (
            // Named "Replay" in every locale (CONTRACT §7).
            <button type="button" className="button-small" disabled={replaying} onClick={() => onReplay(e.id)} aria-label="Replay">
              <RotateCcw size={14} aria-hidden="true" /> {t("log.replay")}
            </button>
          )}
        </span>
      </td>
      <td className="num" data-label={t("log.attempts")}>{e.attempts ?? "—"}</td>
      <td className="error-cell" data-label={t("log.error")}>{e.error ? e.error : <span className="muted">—</span>}</td>
    </tr>
  );
}

/** The `table` labelled "Event log": a row per event. */
export function EventLogTable({ rows, loading, replaying, onReplay }: {
  rows: EventLogEntry[]; loading: boolean; replaying: Set<number>; onReplay: (id: number) => void;
}) {
  const { t } = useTranslation();
  return (
    <TableWrap label={t("log.title")}>
      {/* The table's name is CONTRACT §7's in every locale. */}
      <table className="data cards-phone" aria-label="Event log" aria-busy={loading}>
        <thead>
          <tr>
            <th scope="col">{t("log.time")}</th><th scope="col">{t("log.type")}</th><th scope="col">{t("log.entity")}</th>
            <th scope="col">{t("log.state")}</th><th scope="col" className="num">{t("log.attempts")}</th><th scope="col">{t("log.error")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => <EventLogRow key={e.id} event={e} replaying={replaying.has(e.id)} onReplay={onReplay} />)}
        </tbody>
      </table>
    </TableWrap>
  );
}
