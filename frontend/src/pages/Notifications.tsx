import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { api } from "../lib/api";
import { timeAgo } from "../lib/format";
import type { AppNotification } from "../lib/types";
import { useNotificationStore } from "../stores/notifications";

const SIZE = 20;

export function NotificationsPage() {
  const [filter, setFilter] = useState<"all" | "unread" | "read">("all");
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<{ items: AppNotification[]; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const unread = useNotificationStore((s) => s.unreadCount);
  useEffect(() => {
    const is_read = filter === "all" ? undefined : filter === "read";
    api.notifications({ limit: SIZE, offset, is_read }).then(setPage, (e: Error) => setError(e.message));
  }, [filter, offset, unread]);
  return (
    <main>
      <h1>Notifications</h1>
      <label>
        Show{" "}
        <select value={filter} onChange={(e) => { setFilter(e.target.value as typeof filter); setOffset(0); }}>
          <option value="all">All</option>
          <option value="unread">Unread</option>
          <option value="read">Read</option>
        </select>
      </label>
      {error && <p role="alert">{error}</p>}
      {!page && !error && <p className="muted">Loading…</p>}
      {page?.items.length === 0 && <p className="muted">Nothing here.</p>}
      <ul className="notification-list">
        {page?.items.map((n) => (
          <li key={n.id} className={n.is_read ? "" : "unread"}>
            <strong>{n.title}</strong> — {n.message} <time dateTime={n.created_at}>{timeAgo(n.created_at)}</time>
            {n.link && <> · <Link to={n.link}>Open</Link></>}
          </li>
        ))}
      </ul>
      {page && (
        <nav aria-label="Pages">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - SIZE))}>Previous</button>
          <span> {page.total === 0 ? 0 : offset + 1}–{Math.min(offset + SIZE, page.total)} of {page.total} </span>
          <button type="button" disabled={offset + SIZE >= page.total} onClick={() => setOffset(offset + SIZE)}>Next</button>
        </nav>
      )}
    </main>
  );
}
