import { createElement, useEffect } from "react";
import toast from "react-hot-toast";
import i18n, { ZONE_CHANGED } from "../i18n";
import { NotificationToast, toastDuration } from "../components/NotificationToast";
import type { NotificationPush, NotificationUpdate, UnreadCount } from "../lib/types";
import { useAuth } from "../stores/auth";
import { setBroadcaster, useNotificationStore } from "../stores/notifications";
import { useSocket, useSocketEvent } from "./useSocket";

/** Wires the socket (and this user's other tabs) to the notification store; mount once per signed-in tab. */
export function useNotificationFeed(): void {
  const socket = useSocket();
  const userId = useAuth((s) => s.user?.id);

  // Other tabs of the same user: read/archive changes made here reach them at once. The
  // server's notification_updated does the same for every device; the store applies both
  // idempotently.
  useEffect(() => {
    if (!userId || typeof BroadcastChannel === "undefined") return;
    const channel = new BroadcastChannel(`partpulse-notifications-${userId}`);
    channel.onmessage = (e: MessageEvent) => useNotificationStore.getState().applyUpdate(e.data);
    setBroadcaster((change) => channel.postMessage(change));
    return () => {
      setBroadcaster(() => {});
      channel.close();
    };
  }, [userId]);

  // The server renders titles and messages in the reader's locale when it lists them (CONTRACT §8):
  // a change of language fetches the inbox again.
  useEffect(() => {
    let shown = i18n.language;
    const onLanguage = (lng: string) => {
      if (lng === shown) return;
      shown = lng;
      void useNotificationStore.getState().load();
    };
    const onZone = () => void useNotificationStore.getState().load();
    i18n.on("languageChanged", onLanguage);
    i18n.on(ZONE_CHANGED, onZone);
    return () => {
      i18n.off("languageChanged", onLanguage);
      i18n.off(ZONE_CHANGED, onZone);
    };
  }, []);

  useEffect(() => {
    if (!socket) return;
    const store = useNotificationStore.getState;
    void store().load();
    const onNotification = (push: NotificationPush) => {
      if (!store().receive(push)) return;
      // The toast reads the row from the store: its actions follow notification_updated live.
      toast((tt) => createElement(NotificationToast, { id: push.id, toastId: tt.id }), {
        id: `notification-${push.id}`,
        duration: toastDuration(push),
      });
    };
    const onCount = (payload: UnreadCount) => store().setUnreadCount(payload);
    const onUpdated = (payload: NotificationUpdate) => store().applyUpdate(payload);
    // On every (re)connect, catch up over REST: whatever came while the socket was not
    // listening (before its first connect, or while away) is in the database.
    const onConnect = () => void store().load();
    socket.on("notification", onNotification);
    socket.on("unread_count", onCount);
    socket.on("notification_updated", onUpdated);
    socket.on("connect", onConnect);
    return () => {
      socket.off("notification", onNotification);
      socket.off("unread_count", onCount);
      socket.off("notification_updated", onUpdated);
      socket.off("connect", onConnect);
    };
  }, [socket]);
}

/**
 * Calls `fn` whenever the socket (re)connects, to catch up over REST on what the page shows:
 * messages sent before the first connect or while away never reach this tab.
 */
export function useOnReconnect(fn: () => void): void {
  useSocketEvent("connect", fn);
}
