import { Archive, ArchiveRestore, Mail, MailOpen } from "lucide-react";
import { useTranslation } from "react-i18next";
import { eventKind } from "../lib/events";
import { TimeAgo } from "../lib/format";
import type { AppNotification } from "../lib/types";
import { useNotificationStore } from "../stores/notifications";
import { SnoozeMenu } from "./inbox/SnoozeMenu";
import { NotificationActions } from "./NotificationActions";

/** One notification: icon by type, title, message, time ago; read and archive actions beside it. */
export function NotificationItem({ n, onOpen }: { n: AppNotification; onOpen: (n: AppNotification) => void }) {
  const { markAsRead, markAsUnread, archive, unarchive } = useNotificationStore.getState();
  const { t } = useTranslation();
  const kind = eventKind(n.event_type);
  const Icon = kind.icon;
  return (
    <li className={n.is_read ? "note" : "note unread"} data-notification-id={n.id} data-severity={n.severity ?? "normal"}
      data-unseen={!n.is_read && n.seen === false ? "true" : undefined}>
      <button type="button" className="note-main" onClick={() => onOpen(n)}>
        <span className="note-icon" style={{ color: kind.color }} aria-hidden="true">
          <Icon size={20} />
        </span>
        <span className="note-text">
          <span className="note-title">
            {!n.is_read && <span className="dot" aria-hidden="true" />}
            {n.title}
          </span>
          <span className="note-message">{n.message}</span>
          <span className="note-time">
            {n.severity === "critical" && <span className="sev-tag">{t("severity.critical")}</span>}
            <TimeAgo iso={n.resurfaced_at ?? n.created_at} />
          </span>
        </span>
        {!n.is_read && <span className="sr-only">{t("note.unread")}</span>}
      </button>
      <span className="note-actions">
        {n.is_read ? (
          <button type="button" className="icon-button" aria-label={`Mark unread: ${n.title}`} title={t("note.markUnread")}
            data-action="toggle-read" onClick={() => void markAsUnread(n.id)}>
            <Mail size={16} aria-hidden="true" />
          </button>
        ) : (
          <button type="button" className="icon-button" aria-label={`Mark read: ${n.title}`} title={t("note.markRead")}
            data-action="toggle-read" onClick={() => void markAsRead(n.id)}>
            <MailOpen size={16} aria-hidden="true" />
          </button>
        )}
        {!n.archived && !n.snoozed_until && <SnoozeMenu id={n.id} title={n.title} />}
        {n.archived ? (
          <button type="button" className="icon-button" aria-label={`Unarchive: ${n.title}`} title={t("note.unarchive")}
            onClick={() => void unarchive(n.id)}>
            <ArchiveRestore size={16} aria-hidden="true" />
          </button>
        ) : (
          <button type="button" className="icon-button" aria-label={`Archive: ${n.title}`} title={t("note.archive")}
            data-action="archive" onClick={() => void archive(n.id)}>
            <Archive size={16} aria-hidden="true" />
          </button>
        )}
      </span>
      <NotificationActions n={n} />
    </li>
  );
}
