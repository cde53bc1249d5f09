import { autoUpdate, flip, offset, shift, size, useFloating } from "@floating-ui/react-dom";
import { Bell, CheckCheck, LoaderCircle } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { badgeText } from "../lib/format";
import type { AppNotification } from "../lib/types";
import { useNotificationStore } from "../stores/notifications";
import { NotificationItem } from "./NotificationItem";

const MARGIN = 8;

export function NotificationBell() {
  const notifications = useNotificationStore((s) => s.notifications);
  const unreadCount = useNotificationStore((s) => s.unreadCount);
  const loading = useNotificationStore((s) => s.loading);
  const total = useNotificationStore((s) => s.total);
  const nextCursor = useNotificationStore((s) => s.nextCursor);
  const cursorPaging = useNotificationStore((s) => s.cursorPaging);
  const error = useNotificationStore((s) => s.error);
  const { loadMore, markAllRead, markAsRead } = useNotificationStore.getState();
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement | null>(null);
  const panel = useRef<HTMLDivElement | null>(null);
  const navigate = useNavigate();
  const badge = badgeText(unreadCount);

  // Floating UI keeps the panel inside the window: flipped, shifted and sized to the space there is.
  const { refs, floatingStyles } = useFloating({
    open,
    placement: "bottom-end",
    strategy: "fixed",
    whileElementsMounted: autoUpdate,
    middleware: [
      offset(MARGIN),
      flip({ padding: MARGIN }),
      shift({ padding: MARGIN }),
      size({
        padding: MARGIN,
        apply({ availableWidth, availableHeight, elements }) {
          Object.assign(elements.floating.style, {
            maxWidth: `${Math.max(0, availableWidth)}px`,
            maxHeight: `${Math.max(160, availableHeight)}px`,
          });
        },
      }),
    ],
  });

  const close = (returnFocus = true) => {
    setOpen(false);
    if (returnFocus) button.current?.focus();
  };

  useEffect(() => {
    if (!open) return;
    panel.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") close();
    };
    const onClick = (e: MouseEvent) => {
      const t = e.target as Node;
      if (!panel.current?.contains(t) && !button.current?.contains(t)) close(false);
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
    close(false);
    if (n.link) navigate(n.link);
  };

  const more = cursorPaging ? Boolean(nextCursor) : notifications.length < total;

  return (
    <div className="bell">
      <button
        ref={(el) => {
          button.current = el;
          refs.setReference(el);
        }}
        type="button"
        className="bell-button"
        aria-label={`Notifications, ${unreadCount} unread`}
        aria-haspopup="dialog"
        aria-expanded={open}
        onClick={() => (open ? close() : setOpen(true))}
      >
        <Bell size={22} aria-hidden="true" />
        {badge && (
          <span className="badge" data-testid="bell-badge" aria-hidden="true">
            {badge}
          </span>
        )}
      </button>
      {open && (
        <div
          ref={(el) => {
            panel.current = el;
            refs.setFloating(el);
          }}
          style={floatingStyles}
          role="dialog"
          aria-label="Notifications"
          className="bell-panel"
          tabIndex={-1}
        >
          <div className="panel-head">
            <h2>Notifications</h2>
            <button type="button" className="button-small" onClick={() => void markAllRead()} disabled={unreadCount === 0}>
              <CheckCheck size={16} aria-hidden="true" /> Mark all read
            </button>
          </div>
          {error && <p role="alert" className="error-text">{error}</p>}
          {loading && notifications.length === 0 && (
            <p className="empty"><LoaderCircle className="spin" size={18} aria-hidden="true" /> Loading…</p>
          )}
          {!loading && notifications.length === 0 && <p className="empty">You're all caught up.</p>}
          <ul className="note-list">
            {notifications.map((n) => <NotificationItem key={n.id} n={n} onOpen={openNotification} />)}
          </ul>
          <div className="panel-foot">
            {more && (
              <button type="button" className="button-small" disabled={loading} onClick={() => void loadMore()}>
                Load more
              </button>
            )}
            <Link to="/notifications" onClick={() => close(false)}>All notifications</Link>
          </div>
        </div>
      )}
    </div>
  );
}
