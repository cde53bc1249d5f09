import { useCallback, useEffect, useState } from "react";
import { useNavigate } from "react-router-dom";
import { NotificationItem } from "../components/NotificationItem";
import { Empty, ErrorText, Loading } from "../components/ui";
import { api } from "../lib/api";
import type { AppNotification } from "../lib/types";
import { PAGE_SIZE, useNotificationStore } from "../stores/notifications";

type View = "all" | "unread" | "archived";

/** The archived view keeps its own list (the store holds the inbox); it refetches on any change. */
function useArchived(active: boolean) {
  const changes = useNotificationStore((s) => s.changes);
  const [items, setItems] = useState<AppNotification[] | null>(null);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const first = useCallback(() => {
    api.notifications({ archived: true, limit: PAGE_SIZE }).then((p) => {
      setItems(p.items.map((n) => ({ ...n, archived: true })));
      setCursor(p.next_cursor);
      setTotal(p.total);
      setError(null);
    }, (e: Error) => setError(e.message));
  }, []);
  useEffect(() => {
    if (active) first();
  }, [active, first, changes]);
  const more = async () => {
    try {
      const p = cursor ? await api.notifications({ archived: true, limit: PAGE_SIZE, cursor })
        : await api.notifications({ archived: true, limit: PAGE_SIZE, offset: items?.length ?? 0 });
      setItems((xs) => [...(xs ?? []), ...p.items.filter((n) => !xs?.some((x) => x.id === n.id)).map((n) => ({ ...n, archived: true }))]);
      setCursor(p.next_cursor);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const hasMore = cursor !== undefined ? Boolean(cursor) : (items?.length ?? 0) < total;
  return { items, error, more, hasMore };
}

export function NotificationsPage() {
  const [view, setView] = useState<View>("all");
  const inbox = useNotificationStore((s) => s.notifications);
  const loading = useNotificationStore((s) => s.loading);
  const error = useNotificationStore((s) => s.error);
  const total = useNotificationStore((s) => s.total);
  const nextCursor = useNotificationStore((s) => s.nextCursor);
  const cursorPaging = useNotificationStore((s) => s.cursorPaging);
  const unreadCount = useNotificationStore((s) => s.unreadCount);
  const { loadMore, markAsRead, markAllRead } = useNotificationStore.getState();
  const archived = useArchived(view === "archived");
  const navigate = useNavigate();

  const open = (n: AppNotification) => {
    if (!n.is_read) void markAsRead(n.id);
    if (n.link) navigate(n.link);
  };

  const list = view === "archived" ? archived.items : view === "unread" ? inbox.filter((n) => !n.is_read) : inbox;
  const hasMore = view === "archived" ? archived.hasMore : cursorPaging ? Boolean(nextCursor) : inbox.length < total;
  const views: [View, string][] = [["all", "Inbox"], ["unread", `Unread (${unreadCount})`], ["archived", "Archived"]];

  return (
    <main className="page">
      <div className="title-row">
        <h1>Notifications</h1>
        <button type="button" onClick={() => void markAllRead()} disabled={unreadCount === 0}>Mark all read</button>
      </div>
      <div className="segmented" role="group" aria-label="Show">
        {views.map(([v, label]) => (
          <button key={v} type="button" aria-pressed={view === v} onClick={() => setView(v)}>{label}</button>
        ))}
      </div>
      <ErrorText>{view === "archived" ? archived.error : error}</ErrorText>
      {list === null || (loading && list.length === 0) ? <Loading /> : list.length === 0 ? (
        <Empty>{view === "archived" ? "Nothing archived." : view === "unread" ? "No unread notifications." : "You're all caught up."}</Empty>
      ) : (
        <ul className="note-list card">
          {list.map((n) => <NotificationItem key={n.id} n={n} onOpen={open} />)}
        </ul>
      )}
      {hasMore && (
        <div className="pager">
          <button type="button" disabled={loading} onClick={() => void (view === "archived" ? archived.more() : loadMore())}>Load more</button>
        </div>
      )}
    </main>
  );
}
