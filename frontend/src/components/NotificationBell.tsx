import { useEffect, useRef, useState } from "react";
import { useNavigate } from "react-router-dom";
import { useNotifications } from "../hooks/useNotifications";
import { badgeText, EVENT_ICONS, timeAgo } from "../lib/format";
import type { AppNotification } from "../lib/types";
import { useNotificationStore } from "../stores/notifications";

export function NotificationBell() {
  const { notifications, unreadCount, markAsRead, markAllRead } = useNotifications();
  const { loading, total, loadMore, error } = useNotificationStore();
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const navigate = useNavigate();
  const badge = badgeText(unreadCount);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };

  useEffect(() => {
    if (!open) return;
    panel.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && close();
    const onClick = (e: MouseEvent) => {
      if (!panel.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("mousedown", onClick);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("mousedown", onClick);
    };
  }, [open]);

  const openNotification = (n: AppNotification) => {
    void markAsRead(n.id);
    setOpen(false);
    if (n.link) navigate(n.link);
  };

  return (
    <div className="bell">
      <button
        ref={button}
        type="button"
        className="bell-button"
        aria-label={`Notifications, ${unreadCount} unread`}
        aria-haspopup="dialog"
        aria-expanded={open}
        onClick={() => setOpen((v) => !v)}
      >
        <span aria-hidden="true">🔔</span>
        {badge && (
          <span className="badge" data-testid="bell-badge" aria-hidden="true">
            {badge}
          </span>
        )}
      </button>
      {open && (
        <div ref={panel} role="dialog" aria-label="Notifications" className="bell-panel" tabIndex={-1}>
          <div className="bell-head">
            <strong>Notifications</strong>
            <button type="button" onClick={() => void markAllRead()} disabled={unreadCount === 0}>
              Mark all read
            </button>
          </div>
          {error && <p role="alert" className="error">{error}</p>}
          {loading && notifications.length === 0 && <p className="muted">Loading…</p>}
          {!loading && notifications.length === 0 && <p className="muted">You're all caught up.</p>}
          <ul className="bell-list">
            {notifications.map((n) => (
              <li key={n.id}>
                <button
                  type="button"
                  className={n.is_read ? "entry" : "entry unread"}
                  onClick={() => openNotification(n)}
                >
                  <span className="icon" aria-hidden="true">{EVENT_ICONS[n.event_type] ?? "🔔"}</span>
                  <span className="text">
                    <span className="title">{n.title}</span>
                    <span className="message">{n.message}</span>
                    <time dateTime={n.created_at}>{timeAgo(n.created_at)}</time>
                  </span>
                  {!n.is_read && <span className="sr-only">(unread)</span>}
                </button>
              </li>
            ))}
          </ul>
          {notifications.length < total && (
            <button type="button" className="more" onClick={() => void loadMore()}>
              Load more
            </button>
          )}
        </div>
      )}
    </div>
  );
}
