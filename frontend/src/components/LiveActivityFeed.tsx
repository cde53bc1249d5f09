import { useEffect, useState } from "react";
import { useSocket } from "../hooks/useSocket";
import type { SystemEvent } from "../lib/types";

export const FEED_LIMIT = 100;

export function addToFeed(feed: SystemEvent[], event: SystemEvent, limit = FEED_LIMIT): SystemEvent[] {
  if (feed.some((e) => e.event_id === event.event_id)) return feed;
  return [event, ...feed].slice(0, limit);
}

export function badgeClass(eventType: string): string {
  if (eventType.includes("CANCELLED") || eventType.includes("FAILED")) return "badge-red";
  if (eventType.includes("LOW_STOCK")) return "badge-amber";
  if (eventType.includes("DELIVER")) return "badge-green";
  return "badge-blue";
}

export function FeedList({ events }: { events: SystemEvent[] }) {
  return (
    <section aria-label="Live activity" className="feed">
      <h2>Live activity</h2>
      {events.length === 0 && <p className="muted">Waiting for events…</p>}
      <ul>
        {events.map((e) => (
          <li key={e.event_id} className="feed-entry">
            <time dateTime={e.timestamp}>{new Date(e.timestamp).toLocaleTimeString()}</time>
            <span className={`event-badge ${badgeClass(e.event_type)}`}>{e.event_type}</span>
            <span>{e.message || e.title}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function LiveActivityFeed() {
  const socket = useSocket();
  const [events, setEvents] = useState<SystemEvent[]>([]);
  useEffect(() => {
    if (!socket) return;
    const onEvent = (e: SystemEvent) => setEvents((feed) => addToFeed(feed, e));
    socket.on("system_event", onEvent);
    return () => {
      socket.off("system_event", onEvent);
    };
  }, [socket]);
  return <FeedList events={events} />;
}
