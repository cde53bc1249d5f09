import { X } from "lucide-react";
import toast, { type Toast } from "react-hot-toast";
import { useTranslation } from "react-i18next";
import { eventKind } from "../lib/events";
import type { AppNotification } from "../lib/types";
import { useNotificationStore } from "../stores/notifications";
import { NotificationActions } from "./NotificationActions";

/**
 * A new notification's toast: its title, its actions (live: read from the store, which
 * `notification_updated` keeps current) and a dismiss button. Critical ones stay until dismissed.
 */
export function NotificationToast({ id, toastId }: { id: number; toastId: Toast["id"] }) {
  const { t } = useTranslation();
  const n = useNotificationStore((s) => s.notifications.find((x) => x.id === id));
  if (!n) return null;
  const Icon = eventKind(n.event_type).icon;
  return (
    <div className="toast-body" data-toast-for={n.id}>
      <div className="toast-head">
        <Icon size={18} aria-hidden="true" />
        <span className="note-title">{n.title}</span>
        <button type="button" className="icon-button" aria-label={`Dismiss: ${n.title}`} title={t("toast.dismiss")}
          onClick={() => toast.dismiss(toastId)}>
          <X size={16} aria-hidden="true" />
        </button>
      </div>
      <NotificationActions n={n} />
    </div>
  );
}

/** Toast options for a row: critical ones stay until dismissed; rows with actions stay long enough to act. */
export function toastDuration(n: Pick<AppNotification, "severity" | "actions">): number {
  if (n.severity === "critical") return Infinity;
  return (n.actions ?? []).some((a) => a.state === "open") ? 12_000 : 4_000;
}
