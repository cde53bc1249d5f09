import { create } from "zustand";
import { api } from "../lib/api";
import type { AppNotification, NotificationPush } from "../lib/types";

export const PAGE_SIZE = 20;

interface NotificationState {
  notifications: AppNotification[];
  unreadCount: number;
  total: number;
  loading: boolean;
  error: string | null;
  load: () => Promise<void>;
  loadMore: () => Promise<void>;
  receive: (push: NotificationPush) => boolean;
  setUnreadCount: (count: number) => void;
  markAsRead: (id: number) => Promise<void>;
  markAllRead: () => Promise<void>;
  reset: () => void;
}

function fromPush(push: NotificationPush): AppNotification {
  const { timestamp, ...rest } = push;
  return { ...rest, created_at: timestamp };
}

function mergeById(first: AppNotification[], second: AppNotification[]): AppNotification[] {
  const seen = new Set<number>();
  return [...first, ...second]
    .filter((n) => (seen.has(n.id) ? false : (seen.add(n.id), true)))
    .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
}

export const useNotificationStore = create<NotificationState>((set, get) => ({
  notifications: [],
  unreadCount: 0,
  total: 0,
  loading: false,
  error: null,

  load: async () => {
    set({ loading: true, error: null });
    try {
      const [page, count] = await Promise.all([api.notifications({ limit: PAGE_SIZE }), api.unreadCount()]);
      set((s) => ({
        notifications: mergeById(page.items, s.notifications.filter((n) => !page.items.some((p) => p.id === n.id))).slice(0, Math.max(PAGE_SIZE, s.notifications.length)),
        total: page.total,
        unreadCount: count.count,
        loading: false,
      }));
    } catch (e) {
      set({ loading: false, error: (e as Error).message });
    }
  },

  loadMore: async () => {
    const page = await api.notifications({ limit: PAGE_SIZE, offset: get().notifications.length });
    set((s) => ({ notifications: mergeById(s.notifications, page.items), total: page.total }));
  },

  receive: (push) => {
    if (get().notifications.some((n) => n.id === push.id)) return false;
    set((s) => ({ notifications: mergeById([fromPush(push)], s.notifications), total: s.total + 1 }));
    return true;
  },

  setUnreadCount: (count) => set({ unreadCount: count }),

  markAsRead: async (id) => {
    const before = get();
    const target = before.notifications.find((n) => n.id === id);
    if (!target || target.is_read) return;
    set({
      notifications: before.notifications.map((n) => (n.id === id ? { ...n, is_read: true } : n)),
      unreadCount: Math.max(0, before.unreadCount - 1),
    });
    try {
      await api.markRead(id);
    } catch (e) {
      set((s) => ({
        notifications: s.notifications.map((n) => (n.id === id ? { ...n, is_read: false } : n)),
        unreadCount: s.unreadCount + 1,
        error: (e as Error).message,
      }));
    }
  },

  markAllRead: async () => {
    const before = get();
    set({ notifications: before.notifications.map((n) => ({ ...n, is_read: true })), unreadCount: 0 });
    try {
      await api.markAllRead();
    } catch (e) {
      set({ notifications: before.notifications, unreadCount: before.unreadCount, error: (e as Error).message });
    }
  },

  reset: () => set({ notifications: [], unreadCount: 0, total: 0, loading: false, error: null }),
}));
