import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";
import { GroupSwitch, NewBanner, ShortcutsDialog, useGroupByOrder } from "../components/inbox/InboxExtras";
import { ThreadList } from "../components/inbox/ThreadList";
import { CategoryTabs, type Tab } from "../components/CategoryTabs";
import { NotificationItem } from "../components/NotificationItem";
import { listKeyHandler } from "../hooks/useListKeys";
import { useSeen } from "../hooks/useSeen";
import { Empty, ErrorText, Loading } from "../components/ui";
import { api, type NotificationQuery } from "../lib/api";
import type { AppNotification } from "../lib/types";
import { PAGE_SIZE, useInbox, useNotificationStore } from "../stores/notifications";

type View = "all" | "unread" | "snoozed" | "archived";

/**
 * A list the store does not hold (the archive, the snoozed rows, search results) keeps its own;
 * it refetches on any change. `query` null: inactive.
 */
function useOwnList(query: NotificationQuery | null) {
  const changes = useNotificationStore((s) => s.changes);
  const arrivals = useNotificationStore((s) => s.arrivals);
  const [items, setItems] = useState<AppNotification[] | null>(null);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const key = query ? JSON.stringify(query) : null;
  const archived = Boolean(query?.archived);
  const asked = useRef(key);
  asked.current = key;
  const first = useCallback(() => {
    if (key === null) return;
    api.notifications({ ...JSON.parse(key), limit: PAGE_SIZE }).then((p) => {
      if (asked.current !== key) return; // a newer search is on its way
      setItems(p.items.map((n) => ({ ...n, archived })));
      setCursor(p.next_cursor);
      setTotal(p.total);
      setError(null);
    }, (e: Error) => setError(e.message));
  }, [key, archived]);
  useEffect(() => {
    first();
  }, [first, changes, arrivals]);
  const more = async () => {
    if (key === null) return;
    const base = { ...JSON.parse(key), limit: PAGE_SIZE };
    try {
      const p = cursor ? await api.notifications({ ...base, cursor })
        : await api.notifications({ ...base, offset: items?.length ?? 0 });
      setItems((xs) => [...(xs ?? []), ...p.items.filter((n) => !xs?.some((x) => x.id === n.id)).map((n) => ({ ...n, archived }))]);
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
  const [tab, setTab] = useState<Tab>("all");
  const { notifications: inbox, unreadCount, byCategory, loading, error, hasMore: inboxHasMore } = useInbox();
  const { loadMore, markAsRead, markAllRead } = useNotificationStore.getState();
  // issue 24: search, snoozed rows, threads, seen, shortcuts.
  const [typed, setTyped] = useState("");
  const [q, setQ] = useState("");
  useEffect(() => {
    const timer = setTimeout(() => setQ(typed.trim()), 250);
    return () => clearTimeout(timer);
  }, [typed]);
  const searchBox = useRef<HTMLInputElement | null>(null);
  const listRef = useRef<HTMLUListElement | null>(null);
  const [help, setHelp] = useState(false);
  const grouped = useGroupByOrder((s) => s.value) && !q && (view === "all" || view === "unread");
  const own: NotificationQuery | null = q
    ? { q: q.slice(0, 200), archived: view === "archived", snoozed: view === "snoozed", is_read: view === "unread" ? false : undefined }
    : view === "archived" ? { archived: true } : view === "snoozed" ? { snoozed: true } : null;
  const archived = useOwnList(own);
  useSeen(listRef, !grouped);
  const keys = listKeyHandler({ onHelp: () => setHelp(true), search: () => searchBox.current?.focus() });
  const navigate = useNavigate();
  const { t } = useTranslation();

  const open = (n: AppNotification) => {
    if (!n.is_read) void markAsRead(n.id);
    if (n.link) navigate(n.link);
  };

  const shown = own ? archived.items : view === "unread" ? inbox.filter((n) => !n.is_read) : inbox;
  const list = shown === null || tab === "all" ? shown : shown.filter((n) => (n.category ?? "orders") === tab);
  const tabUnread = tab === "all" ? unreadCount : byCategory[tab];
  const hasMore = own ? archived.hasMore : inboxHasMore;
  const views: [View, string][] = [
    ["all", t("notifications.inbox")], ["unread", t("notifications.unread", { count: unreadCount })],
    ["snoozed", t("notifications.snoozed")], ["archived", t("notifications.archived")],
  ];
  const emptyText = q ? "notifications.noResults" : view === "archived" ? "notifications.noneArchived"
    : view === "unread" ? "notifications.noneUnread" : view === "snoozed" ? "notifications.noneSnoozed" : "bell.caughtUp";

  return (
    <main className="page">
      <div className="title-row">
        <h1>{t("notifications.title")}</h1>
        <button type="button" onClick={() => void markAllRead(tab === "all" ? undefined : tab)} disabled={tabUnread === 0}
          aria-label="Mark all read">
          {t("bell.markAllRead")}
        </button>
      </div>
      <div className="segmented" role="group" aria-label={t("notifications.show")}>
        {views.map(([v, label]) => (
          <button key={v} type="button" aria-pressed={view === v} onClick={() => setView(v)}>{label}</button>
        ))}
      </div>
      <div className="inbox-tools">
        <label className="search">
          <span className="sr-only">{t("notifications.search")}</span>
          <input ref={searchBox} type="search" aria-label="Search notifications" placeholder={t("notifications.search")}
            maxLength={200} value={typed} onChange={(e) => setTyped(e.target.value)}
            onKeyDown={(e) => { if (e.key === "Escape") { setTyped(""); e.currentTarget.blur(); } }} />
        </label>
        <GroupSwitch />
      </div>
      <CategoryTabs value={tab} onChange={setTab} counts={byCategory} total={unreadCount} controls="page-list" />
      <NewBanner scroller={null} />
      <ErrorText>{own ? archived.error : error}</ErrorText>
      <div id="page-list" role="tabpanel" aria-labelledby={`tab-page-list-${tab}`}>
      {grouped ? <div className="card"><ThreadList onOpen={open} onKeyDown={keys} /></div>
        : list === null || (loading && list.length === 0) ? <Loading /> : list.length === 0 ? (
          <Empty>{t(emptyText)}</Empty>
        ) : (
          <ul className="note-list card" ref={listRef} onKeyDown={keys}>
            {list.map((n) => <NotificationItem key={n.id} n={n} onOpen={open} />)}
          </ul>
        )}
      </div>
      {hasMore && !grouped && (
        <div className="pager">
          <button type="button" disabled={loading} onClick={() => void (own ? archived.more() : loadMore())}>{t("common.loadMore")}</button>
        </div>
      )}
      {help && <ShortcutsDialog onClose={() => setHelp(false)} />}
    </main>
  );
}
