import { create } from "zustand";
import { api } from "../lib/api";
import type { AppNotification, NotificationPush, NotificationUpdate, UnreadCount } from "../lib/types";

export const PAGE_SIZE = 20;

type Change = { id: number; is_read?: boolean; archived?: boolean } | { up_to_id: number; is_read: true };

interface NotificationState {
  /** The inbox (not archived), newest first, each id once. */
  notifications: AppNotification[];
  unreadCount: number;
  /** Version of `unreadCount` (-1: none from the server yet). */
  unreadVersion: number;
  total: number;
  nextCursor: string | null;
  /** Whether the server pages this list with cursors (it sent `next_cursor`). */
  cursorPaging: boolean;
  loading: boolean;
  error: string | null;
  /** Grows on every read/archive change, so views that keep their own lists can refetch. */
  changes: number;
  load: () => Promise<void>;
  loadMore: () => Promise<void>;
  receive: (push: NotificationPush) => boolean;
  setUnreadCount: (count: UnreadCount | number) => void;
  refreshCount: () => Promise<void>;
  applyUpdate: (update: NotificationUpdate | Change) => void;
  markAsRead: (id: number) => Promise<void>;
  markAsUnread: (id: number) => Promise<void>;
  archive: (id: number) => Promise<void>;
  unarchive: (id: number) => Promise<void>;
  markAllRead: () => Promise<void>;
  reset: () => void;
}

/** Sends each local change to this user's other tabs (until the server's notification_updated covers it). */
let broadcast: (change: Change) => void = () => {};
export function setBroadcaster(fn: (change: Change) => void): void {
  broadcast = fn;
}

function fromPush(push: NotificationPush): AppNotification {
  const { timestamp, ...rest } = push;
  return { archived: false, ...rest, created_at: timestamp };
}

/** Merge, one entry per id (the first list wins), sorted by id, newest first. */
export function mergeById(first: AppNotification[], second: AppNotification[]): AppNotification[] {
  const seen = new Set<number>();
  return [...first, ...second]
    .filter((n) => (seen.has(n.id) ? false : (seen.add(n.id), true)))
    .sort((a, b) => b.id - a.id);
}

function patch(list: AppNotification[], change: Change): AppNotification[] {
  if ("up_to_id" in change) {
    return list.map((n) => (n.id <= change.up_to_id && !n.is_read ? { ...n, is_read: true } : n));
  }
  return list
    .map((n) => (n.id === change.id ? { ...n, ...("is_read" in change && change.is_read !== undefined ? { is_read: change.is_read } : {}), ...(change.archived !== undefined ? { archived: change.archived } : {}) } : n))
    .filter((n) => !n.archived);
}

const initial = {
  notifications: [] as AppNotification[],
  unreadCount: 0,
  unreadVersion: -1,
  total: 0,
  nextCursor: null as string | null,
  cursorPaging: false,
  loading: false,
  error: null as string | null,
  changes: 0,
};

export const useNotificationStore = create<NotificationState>((set, get) => ({
  ...initial,

  load: async () => {
    set({ loading: true, error: null });
    const versionBefore = get().unreadVersion;
    try {
      const [page, count] = await Promise.all([api.notifications({ limit: PAGE_SIZE }), api.unreadCount()]);
      set((s) => {
        const fresh = new Set(page.items.map((n) => n.id));
        const oldest = page.items.length ? page.items[page.items.length - 1].id : Infinity;
        // REST is the truth for the newest page; keep older entries we had loaded below it.
        const older = s.notifications.filter((n) => !fresh.has(n.id) && n.id < oldest);
        return {
          notifications: mergeById(page.items.filter((n) => !n.archived), older),
          total: page.total,
          nextCursor: page.next_cursor ?? null,
          cursorPaging: page.next_cursor !== undefined,
          loading: false,
        };
      });
      // A count read over REST only counts if no newer push arrived meanwhile.
      if (count.version !== undefined) get().setUnreadCount(count);
      else if (get().unreadVersion === versionBefore) set({ unreadCount: count.count });
    } catch (e) {
      set({ loading: false, error: (e as Error).message });
    }
  },

  loadMore: async () => {
    const s = get();
    set({ loading: true, error: null });
    try {
      const page = s.cursorPaging && s.nextCursor
        ? await api.notifications({ limit: PAGE_SIZE, cursor: s.nextCursor })
        : await api.notifications({ limit: PAGE_SIZE, offset: s.notifications.length });
      set((now) => ({
        notifications: mergeById(now.notifications, page.items.filter((n) => !n.archived)),
        total: page.total,
        nextCursor: page.next_cursor ?? null,
        cursorPaging: page.next_cursor !== undefined,
        loading: false,
      }));
    } catch (e) {
      set({ loading: false, error: (e as Error).message });
    }
  },

  receive: (push) => {
    if (get().notifications.some((n) => n.id === push.id)) return false;
    set((s) => ({ notifications: mergeById([fromPush(push)], s.notifications), total: s.total + 1 }));
    return true;
  },

  setUnreadCount: (value) => {
    const { count, version } = typeof value === "number" ? { count: value, version: undefined } : value;
    if (version === undefined) {
      set({ unreadCount: count });
      return;
    }
    // Two pushes can arrive out of order: the highest version wins.
    if (version < get().unreadVersion) return;
    set({ unreadCount: count, unreadVersion: version });
  },

  refreshCount: async () => {
    const versionBefore = get().unreadVersion;
    try {
      const count = await api.unreadCount();
      if (count.version !== undefined) get().setUnreadCount(count);
      else if (get().unreadVersion === versionBefore) set({ unreadCount: count.count });
    } catch {
      /* the next push or load corrects it */
    }
  },

  applyUpdate: (update) => {
    const { unread_count, ...change } = update as NotificationUpdate;
    set((s) => ({ notifications: patch(s.notifications, change as Change), changes: s.changes + 1 }));
    if (unread_count) get().setUnreadCount(unread_count);
    // Unarchived elsewhere: it belongs in the inbox again, which only REST can tell us in full.
    if (!("up_to_id" in change) && (change as { archived?: boolean }).archived === false
      && !get().notifications.some((n) => n.id === (change as { id: number }).id)) {
      void get().load();
    }
  },

  markAsRead: async (id) => {
    const target = get().notifications.find((n) => n.id === id);
    if (target?.is_read) return;
    await change(set, get, { id, is_read: true }, () => api.markRead(id), target ? -1 : 0);
  },

  markAsUnread: async (id) => {
    const target = get().notifications.find((n) => n.id === id);
    if (target && !target.is_read) return;
    await change(set, get, { id, is_read: false }, () => api.markUnread(id), target ? 1 : 0);
  },

  archive: async (id) => {
    const target = get().notifications.find((n) => n.id === id);
    await change(set, get, { id, archived: true }, () => api.archive(id), target && !target.is_read ? -1 : 0);
    set((s) => ({ total: Math.max(0, s.total - 1) }));
  },

  unarchive: async (id) => {
    await change(set, get, { id, archived: false }, () => api.unarchive(id), 0);
    await get().load();
  },

  markAllRead: async () => {
    const before = get();
    const upTo = before.notifications.reduce((m, n) => Math.max(m, n.id), 0);
    set({ notifications: patch(before.notifications, { up_to_id: upTo, is_read: true }), unreadCount: 0, changes: before.changes + 1 });
    try {
      const result = await api.markAllRead();
      const serverUpTo = result.up_to_id ?? upTo;
      set((s) => ({ notifications: patch(s.notifications, { up_to_id: serverUpTo, is_read: true }) }));
      broadcast({ up_to_id: serverUpTo, is_read: true });
      void get().refreshCount();
    } catch (e) {
      set({ notifications: before.notifications, unreadCount: before.unreadCount, error: (e as Error).message });
    }
  },

  reset: () => set({ ...initial }),
}));

type Set_ = (partial: Partial<NotificationState> | ((s: NotificationState) => Partial<NotificationState>)) => void;

/** An optimistic change of one row: applied at once, undone with a message if the server refuses. */
async function change(
  set: Set_, get: () => NotificationState, ch: { id: number; is_read?: boolean; archived?: boolean },
  call: () => Promise<AppNotification>, countDelta: number,
): Promise<void> {
  const before = get();
  set({
    notifications: patch(before.notifications, ch),
    unreadCount: Math.max(0, before.unreadCount + countDelta),
    changes: before.changes + 1,
    error: null,
  });
  try {
    const row = await call();
    broadcast({ id: ch.id, is_read: row.is_read, archived: row.archived ?? ch.archived ?? false });
    void get().refreshCount();
  } catch (e) {
    set((s) => ({
      notifications: mergeById(s.notifications, before.notifications.filter((n) => n.id === ch.id)).map((n) =>
        n.id === ch.id ? before.notifications.find((b) => b.id === ch.id)! : n),
      unreadCount: Math.max(0, s.unreadCount - countDelta),
      error: (e as Error).message,
    }));
  }
}
