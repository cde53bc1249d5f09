import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useOnReconnect } from "../hooks/useNotifications";
import { useSocketEvent } from "../hooks/useSocket";
import { api } from "../lib/api";
import { entityLabel } from "../lib/events";
import { TimeAgo } from "../lib/format";
import type { EventLogEntry, SystemEvent } from "../lib/types";
import { EventBadge } from "./EventBadge";

export const FEED_LIMIT = 100;

/** Newest first (by event id), each event once, at most `limit`. */
export function addToFeed(feed: SystemEvent[], event: SystemEvent, limit = FEED_LIMIT): SystemEvent[] {
  if (feed.some((e) => e.event_id === event.event_id)) return feed;
  return [event, ...feed].sort((a, b) => b.event_id - a.event_id).slice(0, limit);
}

/** An event-log row as a feed entry (for catch-up over REST, which has no message text). */
export function fromLog(e: EventLogEntry): SystemEvent {
  return {
    event_id: e.id, event_type: e.event_type, title: e.event_type, message: "",
    metadata: e.metadata, entity_type: e.entity_type, entity_id: e.entity_id, timestamp: e.created_at,
  };
}

export function FeedList({ events, loading = false }: { events: SystemEvent[]; loading?: boolean }) {
  const { t } = useTranslation();
  return (
    // The region's name is CONTRACT §7's in every locale.
    <section aria-label="Live activity" className="card feed">
      <h2>{t("feed.title")}</h2>
      {events.length === 0 && <p className="empty">{loading ? t("common.loading") : t("feed.waiting")}</p>}
      <ul aria-label={t("feed.recent")} tabIndex={0}>
        {events.map((e) => (
          <li key={e.event_id} className="feed-entry">
            <span className="feed-time"><TimeAgo iso={e.timestamp} /></span>
            <EventBadge type={e.event_type} />
            <span className="feed-message">{e.message || t("feed.entity", { type: entityLabel(e.entity_type), id: e.entity_id })}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function LiveActivityFeed() {
  const [events, setEvents] = useState<SystemEvent[]>([]);
  const [loading, setLoading] = useState(true);
  // The recent past from the event log, and again after a reconnect (what came while away).
  const catchUp = useCallback(() => {
    api.events({ limit: 20 }).then(
      (page) => {
        setEvents((feed) => page.items.map(fromLog).reduce((f, e) => addToFeed(f, e), feed));
        setLoading(false);
      },
      () => setLoading(false),
    );
  }, []);
  useEffect(catchUp, [catchUp]);
  useOnReconnect(catchUp);
  useSocketEvent<SystemEvent>("system_event", (e) =>
    setEvents((feed) => addToFeed(feed.filter((x) => x.event_id !== e.event_id || x.message), e)));
  return <FeedList events={events} loading={loading} />;
}
