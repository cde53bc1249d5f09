import { useState } from "react";
import { useTranslation } from "react-i18next";
import { EVENT_LOG_PAGE_SIZE, type EventLogFilters, isFiltered, NO_FILTERS, useEventLog } from "../hooks/useEventLog";
import { EventLogFilterBar } from "./EventLogFilters";
import { EventLogTable } from "./EventLogTable";
import { Empty, ErrorText, Loading, Pager } from "./ui";

/** The admin's event log: filter bar, table and pages, following state changes live. */
export function EventLog() {
  const [filters, setFilters] = useState<EventLogFilters>(NO_FILTERS);
  const [offset, setOffset] = useState(0);
  const { page, error, loading, replaying, replay } = useEventLog(filters, offset);
  const { t } = useTranslation();
  const changeFilters = (next: EventLogFilters) => {
    setFilters(next);
    setOffset(0);
  };
  return (
    <section className="card event-log" aria-labelledby="event-log-h">
      <h2 id="event-log-h">{t("log.title")}</h2>
      <EventLogFilterBar filters={filters} onChange={changeFilters} />
      <ErrorText>{error}</ErrorText>
      {!page && !error && <Loading what={t("log.loading")} />}
      {page && page.items.length === 0 && <Empty>{t(isFiltered(filters) ? "log.noMatch" : "log.none")}</Empty>}
      {page && page.items.length > 0 && (
        <EventLogTable rows={page.items} loading={loading} replaying={replaying} onReplay={(id) => void replay(id)} />
      )}
      {page && <Pager label={t("log.pages")} offset={offset} size={EVENT_LOG_PAGE_SIZE} total={page.total} onChange={setOffset} />}
    </section>
  );
}
