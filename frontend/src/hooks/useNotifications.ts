import { useEffect } from "react";
import toast from "react-hot-toast";
import type { NotificationPush } from "../lib/types";
import { useNotificationStore } from "../stores/notifications";
import { useSocket } from "./useSocket";

/** Wires the socket to the notification store; mount once per signed-in tab. */
export function useNotificationFeed(): void {
  const socket = useSocket();
  useEffect(() => {
    if (!socket) return;
    const store = useNotificationStore.getState;
    store().load();
    const onNotification = (push: NotificationPush) => {
      if (store().receive(push)) toast(push.title, { id: `notification-${push.id}` });
    };
    const onCount = ({ count }: { count: number }) => store().setUnreadCount(count);
    // After a reconnect, catch up over REST: whatever came while away is in the database.
    const onReconnect = () => store().load();
    socket.on("notification", onNotification);
    socket.on("unread_count", onCount);
    socket.io.on("reconnect", onReconnect);
    return () => {
      socket.off("notification", onNotification);
      socket.off("unread_count", onCount);
      socket.io.off("reconnect", onReconnect);
    };
  }, [socket]);
}

export function useNotifications() {
  const notifications = useNotificationStore((s) => s.notifications);
  const unreadCount = useNotificationStore((s) => s.unreadCount);
  const markAsRead = useNotificationStore((s) => s.markAsRead);
  const markAllRead = useNotificationStore((s) => s.markAllRead);
  return { notifications, unreadCount, markAsRead, markAllRead };
}
