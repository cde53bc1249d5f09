import { ArrowLeft, CheckCheck } from "lucide-react";
import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../lib/api";
import { TimeAgo } from "../../lib/format";
import type { AppNotification, Thread } from "../../lib/types";
import { useNotificationStore } from "../../stores/notifications";
import { NotificationItem } from "../NotificationItem";
import { Empty, ErrorText, Loading, StatusPill } from "../ui";

type Opened = { entity_type: string; entity_id: number; title: string };

/** Threads (one per order or stock row), newest activity first; opening one lists its notifications in order. */
export function ThreadList({ onOpen, onKeyDown }: {
  onOpen: (n: AppNotification) => void;
  onKeyDown?: (e: React.KeyboardEvent<HTMLElement>) => void;
}) {
  const changes = useNotificationStore((s) => s.changes);
  const arrivals = useNotificationStore((s) => s.arrivals);
  const [threads, setThreads] = useState<Thread[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [opened, setOpened] = useState<Opened | null>(null);
  const [rows, setRows] = useState<AppNotification[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { t } = useTranslation();

  const loadThreads = useCallback(() => {
    api.threads().then((p) => { setThreads(p.items); setCursor(p.next_cursor); setError(null); }, (e: Error) => setError(e.message));
  }, []);
  const loadRows = useCallback((o: Opened) => {
    api.notifications({ entity_type: o.entity_type, entity_id: o.entity_id, limit: 100 })
      .then((p) => setRows([...p.items].reverse()), (e: Error) => setError(e.message));
  }, []);
  useEffect(() => {
    if (opened) loadRows(opened);
    else loadThreads();
  }, [opened, changes, arrivals, loadRows, loadThreads]);

  const more = () => {
    if (!cursor) return;
    api.threads(cursor).then((p) => {
      setThreads((xs) => [...(xs ?? []), ...p.items.filter((x) => !xs?.some((y) => y.entity_type === x.entity_type && y.entity_id === x.entity_id))]);
      setCursor(p.next_cursor);
    }, (e: Error) => setError(e.message));
  };
  const readThread = async (o: Opened) => {
    try {
      await api.readThread(o.entity_type, o.entity_id);
      useNotificationStore.getState().applyUpdate({ entity_type: o.entity_type, entity_id: o.entity_id, up_to_id: Number.MAX_SAFE_INTEGER, is_read: true });
      void useNotificationStore.getState().refreshCount();
      loadRows(o);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  if (opened) {
    const unread = rows?.some((n) => !n.is_read) ?? false;
    return (
      <section className="thread" aria-label={opened.title}>
        <div className="thread-head">
          <button type="button" className="button-small" onClick={() => { setOpened(null); setRows(null); }}>
            <ArrowLeft size={16} aria-hidden="true" /> {t("inbox.allThreads")}
          </button>
          <h3>{opened.title}</h3>
          <button type="button" className="button-small" aria-label="Mark thread read" disabled={!unread}
            onClick={() => void readThread(opened)}>
            <CheckCheck size={16} aria-hidden="true" /> {t("inbox.markThreadRead")}
          </button>
        </div>
        <ErrorText>{error}</ErrorText>
        {rows === null ? <Loading /> : rows.length === 0 ? <Empty>{t("inbox.noThreads")}</Empty> : (
          <ul className="note-list" onKeyDown={onKeyDown}>
            {rows.map((n) => <NotificationItem key={n.id} n={n} onOpen={onOpen} />)}
          </ul>
        )}
      </section>
    );
  }
  return (
    <>
      <ErrorText>{error}</ErrorText>
      {threads === null ? <Loading /> : threads.length === 0 ? <Empty>{t("inbox.noThreads")}</Empty> : (
        <ul className="note-list threads" onKeyDown={onKeyDown}>
          {threads.map((th) => (
            <li key={`${th.entity_type}-${th.entity_id}`} data-thread={`${th.entity_type}-${th.entity_id}`}
              className={th.unread_count ? "note unread" : "note"}>
              <button type="button" className="note-main" onClick={() => setOpened(th)}>
                <span className="note-text">
                  <span className="note-title">
                    {th.unread_count > 0 && <span className="dot" aria-hidden="true" />}
                    {th.title}
                    {th.status && <StatusPill status={th.status} />}
                  </span>
                  <span className="note-message">{th.latest.title}: {th.latest.message}</span>
                  <span className="note-time">
                    {t("inbox.updates", { count: th.count })} · <TimeAgo iso={th.latest.resurfaced_at ?? th.latest.created_at} />
                  </span>
                </span>
                {th.unread_count > 0 && <span className="sr-only">{t("inbox.threadUnread", { count: th.unread_count })}</span>}
              </button>
            </li>
          ))}
        </ul>
      )}
      {cursor && <div className="panel-foot"><button type="button" className="button-small" onClick={more}>{t("common.loadMore")}</button></div>}
    </>
  );
}
