import { autoUpdate, flip, offset, shift, size, useFloating } from "@floating-ui/react-dom";
import { Bell, CheckCheck, LoaderCircle } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router-dom";
import { badgeText } from "../lib/format";
import type { AppNotification, Severity } from "../lib/types";
import { useInbox, useNotificationStore } from "../stores/notifications";
import { useSeen } from "../hooks/useSeen";
import { listKeyHandler } from "../hooks/useListKeys";
import { GroupSwitch, NewBanner, ShortcutsDialog, useGroupByOrder } from "./inbox/InboxExtras";
import { ThreadList } from "./inbox/ThreadList";
import { CategoryTabs, type Tab } from "./CategoryTabs";
import { NotificationItem } from "./NotificationItem";

/** The most severe level that has unread rows: the bell takes its colour. */
export function topSeverity(by: Record<Severity, number>): Severity | null {
  return (["critical", "high"] as Severity[]).find((s) => by[s] > 0) ?? null;
}

/** `Notifications, 3 unread` plus `, 1 critical` when there are critical unread rows (English, every locale). */
export function bellName(count: number, critical: number): string {
  return `Notifications, ${count} unread${critical > 0 ? `, ${critical} critical` : ""}`;
}

/** Rows of a tab; critical unread ones first (they stay in the top section until read). */
export function splitCritical(rows: AppNotification[], tab: Tab): [AppNotification[], AppNotification[]] {
  const inTab = tab === "all" ? rows : rows.filter((n) => (n.category ?? "orders") === tab);
  const top = inTab.filter((n) => n.severity === "critical" && !n.is_read);
  return [top, inTab.filter((n) => !top.includes(n))];
}

const MARGIN = 8;

export function NotificationBell() {
  const { notifications, unreadCount, unseenCount, byCategory, bySeverity, loading, error, hasMore: more } = useInbox();
  const { loadMore, markAllRead, markAsRead } = useNotificationStore.getState();
  const [open, setOpen] = useState(false);
  const [tab, setTab] = useState<Tab>("all");
  const [critical, rest] = splitCritical(notifications, tab);
  const tabUnread = tab === "all" ? unreadCount : byCategory[tab];
  const button = useRef<HTMLButtonElement | null>(null);
  const panel = useRef<HTMLDivElement | null>(null);
  const navigate = useNavigate();
  const { t } = useTranslation();
  const badge = badgeText(unreadCount);
  // issue 24: grouped by order, seen after a second in view, shortcuts, the "3 new" banner.
  const grouped = useGroupByOrder((s) => s.value);
  const list = useRef<HTMLDivElement | null>(null);
  const [help, setHelp] = useState(false);
  useSeen(list, open && !grouped);

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

  const keys = listKeyHandler({ onHelp: () => setHelp(true) });

  const openNotification = (n: AppNotification) => {
    void markAsRead(n.id);
    close(false);
    if (n.link) navigate(n.link);
  };

  return (
    <div className="bell">
      <button
        ref={(el) => {
          button.current = el;
          refs.setReference(el);
        }}
        type="button"
        className={unseenCount > 0 ? "bell-button pulse" : "bell-button"}
        aria-label={bellName(unreadCount, bySeverity.critical)}
        data-severity={topSeverity(bySeverity) ?? undefined}
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
            <h2>{t("bell.title")}</h2>
            <button type="button" className="button-small" onClick={() => void markAllRead(tab === "all" ? undefined : tab)}
              disabled={tabUnread === 0} aria-label="Mark all read">
              <CheckCheck size={16} aria-hidden="true" /> {t("bell.markAllRead")}
            </button>
          </div>
          <CategoryTabs value={tab} onChange={setTab} counts={byCategory} total={unreadCount} controls="bell-list" />
          <div className="panel-tools"><GroupSwitch /></div>
          <NewBanner scroller={panel} />
          {error && <p role="alert" className="error-text">{error}</p>}
          {loading && notifications.length === 0 && (
            <p className="empty"><LoaderCircle className="spin" size={18} aria-hidden="true" /> {t("common.loading")}</p>
          )}
          <div id="bell-list" role="tabpanel" aria-labelledby={`tab-bell-list-${tab}`} ref={list} onKeyDown={keys}>
            {grouped ? <ThreadList onOpen={openNotification} /> : <>
              {!loading && critical.length + rest.length === 0 && <p className="empty">{t("bell.caughtUp")}</p>}
              {critical.length > 0 && (
                <>
                  <h3 className="panel-section" id="bell-critical">{t("bell.critical")}</h3>
                  <ul className="note-list" aria-labelledby="bell-critical">
                    {critical.map((n) => <NotificationItem key={n.id} n={n} onOpen={openNotification} />)}
                  </ul>
                </>
              )}
              <ul className="note-list">
                {rest.map((n) => <NotificationItem key={n.id} n={n} onOpen={openNotification} />)}
              </ul>
            </>}
          </div>
          {help && <ShortcutsDialog onClose={() => setHelp(false)} />}
          <div className="panel-foot">
            {more && !grouped && (
              <button type="button" className="button-small" disabled={loading} onClick={() => void loadMore()}>
                {t("common.loadMore")}
              </button>
            )}
            <Link to="/notifications" onClick={() => close(false)}>{t("bell.all")}</Link>
          </div>
        </div>
      )}
    </div>
  );
}
