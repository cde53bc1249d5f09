import { create } from "zustand";
import { useShallow } from "zustand/react/shallow";
import { api } from "../lib/api";
import type {
  AppNotification, Category, NotificationAction, NotificationPush, NotificationUpdate, Severity, UnreadCount,
} from "../lib/types";

export const PAGE_SIZE = 20;

type Change =
  | { id: number; is_read?: boolean; archived?: boolean; actions?: NotificationAction[] }
  | { up_to_id: number; is_read: true; category?: Category }
  | { id: number; snoozed_until: string | null }
  | { ids: number[]; seen: true }
  | { entity_type: string; entity_id: number; up_to_id: number; is_read: true };

const NO_CATEGORIES: Record<Category, number> = { orders: 0, stock: 0, system: 0 };
const NO_SEVERITIES: Record<Severity, number> = { critical: 0, high: 0, normal: 0, low: 0 };

interface NotificationState {
  /** The inbox (not archived), newest first, each id once. */
  notifications: AppNotification[];
  unreadCount: number;
  /** Unread rows not yet seen (the bell pulses while there are some). */
  unseenCount: number;
  /** Grows by one for every new row pushed (the "3 new" banner counts from it). */
  arrivals: number;
  /** Unread rows per tab and per severity (the count's `by_category`, `by_severity`). */
  byCategory: Record<Category, number>;
  bySeverity: Record<Severity, number>;
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
  /** Takes a `notification` push; true when it is a new unread row, the only kind worth a toast. */
  receive: (push: NotificationPush) => boolean;
  setUnreadCount: (count: UnreadCount | number) => void;
  refreshCount: () => Promise<void>;
  applyUpdate: (update: NotificationUpdate | Change) => void;
  markAsRead: (id: number) => Promise<void>;
  markAsUnread: (id: number) => Promise<void>;
  archive: (id: number) => Promise<void>;
  unarchive: (id: number) => Promise<void>;
  markAllRead: (category?: Category) => Promise<void>;
  /** Snoozes a row until `until` (ISO): it leaves the inbox and the count until then. */
  snooze: (id: number, until: string) => Promise<void>;
  /** Rows shown for a second: seen here at once (the server is told in batches). */
  markSeenLocally: (ids: number[]) => void;
  /** Runs an action; resolves to null, or the error to show in place (a 409's reason). */
  act: (id: number, action: string, body?: { quantity?: number; reason?: string }) => Promise<string | null>;
  reset: () => void;
}

/** Sends each local change to this user's other tabs (until the server's notification_updated covers it). */
let broadcast: (change: Change) => void = () => {};
export function setBroadcaster(fn: (change: Change) => void): void {
  broadcast = fn;
}

/**
 * A push as a list entry. A replay or a catch-up pushes a row again with its real `is_read` and
 * `archived` (CONTRACT §8); a payload without them is a new row: unread, not archived.
 */
export function fromPush(push: NotificationPush): AppNotification {
  const { timestamp, ...rest } = push;
  return { ...rest, is_read: push.is_read ?? false, archived: push.archived ?? false, created_at: timestamp };
}

/** Where a row sorts: its position (a resurfaced snooze takes a fresh one), else its id. */
export const sortKey = (n: AppNotification): number => n.position ?? n.id;

/** Merge, one entry per id (the first list wins), sorted by position, newest first. */
export function mergeById(first: AppNotification[], second: AppNotification[]): AppNotification[] {
  const seen = new Set<number>();
  return [...first, ...second]
    .filter((n) => (seen.has(n.id) ? false : (seen.add(n.id), true)))
    .sort((a, b) => sortKey(b) - sortKey(a) || b.id - a.id);
}

function patch(list: AppNotification[], change: Change): AppNotification[] {
  if ("ids" in change) {
    const ids = new Set(change.ids);
    return list.map((n) => (ids.has(n.id) ? { ...n, seen: true } : n));
  }
  if ("snoozed_until" in change) {
    return change.snoozed_until ? list.filter((n) => n.id !== change.id) : list;
  }
  if ("entity_type" in change) {
    return list.map((n) => (n.entity_type === change.entity_type && n.entity_id === change.entity_id
      && n.id <= change.up_to_id && !n.is_read ? { ...n, is_read: true, seen: true } : n));
  }
  if ("up_to_id" in change) {
    const inScope = (n: AppNotification) => !change.category || (n.category ?? "orders") === change.category;
    return list.map((n) => (n.id <= change.up_to_id && !n.is_read && inScope(n) ? { ...n, is_read: true } : n));
  }
  return list
    .map((n) => (n.id === change.id ? { ...n, ...("is_read" in change && change.is_read !== undefined ? { is_read: change.is_read } : {}), ...(change.archived !== undefined ? { archived: change.archived } : {}), ...(change.actions ? { actions: change.actions } : {}) } : n))
    .filter((n) => !n.archived);
}

const initial = {
  notifications: [] as AppNotification[],
  unreadCount: 0,
  unseenCount: 0,
  arrivals: 0,
  byCategory: NO_CATEGORIES,
  bySeverity: NO_SEVERITIES,
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
        const oldest = page.items.length ? sortKey(page.items[page.items.length - 1]) : Infinity;
        // REST is the truth for the newest page; keep older entries we had loaded below it.
        const older = s.notifications.filter((n) => !fresh.has(n.id) && sortKey(n) < oldest);
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
    const row = fromPush(push);
    const s = get();
    const held = s.notifications.find((n) => n.id === row.id);
    if (held && row.resurfaced_at && !row.archived && (!held.resurfaced_at || row.resurfaced_at > held.resurfaced_at)) {
      // A snooze came back: the row moves to the top, unread again (CONTRACT §8), with a toast.
      set((now) => ({ notifications: mergeById([row], now.notifications.filter((n) => n.id !== row.id)), arrivals: now.arrivals + 1 }));
      return !row.is_read;
    }
    if (held) {
      // Held already: never a second toast. Archived meanwhile (a replay says so): it leaves the inbox.
      if (row.archived) set((now) => ({ notifications: now.notifications.filter((n) => n.id !== row.id), total: Math.max(0, now.total - 1) }));
      return false;
    }
    if (row.archived) return false; // the inbox lists no archived row
    // Older than every row loaded while older pages remain: it arrives with them, where it belongs.
    const oldest = s.notifications.length ? sortKey(s.notifications[s.notifications.length - 1]) : -Infinity;
    const more = s.cursorPaging ? Boolean(s.nextCursor) : s.notifications.length < s.total;
    if (sortKey(row) < oldest && more) return false;
    if (row.snoozed_until) return false; // snoozed elsewhere meanwhile: not in the inbox
    set((now) => ({ notifications: mergeById([row], now.notifications), total: now.total + 1, arrivals: now.arrivals + 1 }));
    return !row.is_read && !push.seen;
  },

  setUnreadCount: (value) => {
    const { count, version, unseen } = typeof value === "number" ? { count: value, version: undefined, unseen: undefined } : value;
    const unseenCount = unseen ?? get().unseenCount;
    const kinds = typeof value === "number" ? {} : {
      ...(value.by_category ? { byCategory: value.by_category } : {}),
      ...(value.by_severity ? { bySeverity: value.by_severity } : {}),
    };
    if (version === undefined) {
      set({ unreadCount: count, unseenCount, ...kinds });
      return;
    }
    // Two pushes can arrive out of order: the highest version wins.
    if (version < get().unreadVersion) return;
    set({ unreadCount: count, unreadVersion: version, unseenCount, ...kinds });
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
    const { unread_count, ...change } = update as NotificationUpdate & { unread_count?: UnreadCount };
    set((s) => ({ notifications: patch(s.notifications, change as Change), changes: s.changes + 1 }));
    if (unread_count) get().setUnreadCount(unread_count);
    // Unarchived elsewhere: it belongs in the inbox again, which only REST can tell us in full.
    // Unsnoozed elsewhere: back in the inbox at its place.
    if ("snoozed_until" in change && (change as { snoozed_until: string | null }).snoozed_until === null) void get().load();
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

  markAllRead: async (category) => {
    const before = get();
    const upTo = before.notifications.reduce((m, n) => Math.max(m, n.id), 0);
    const left = category ? Math.max(0, before.unreadCount - before.byCategory[category]) : 0;
    set({ notifications: patch(before.notifications, { up_to_id: upTo, is_read: true, category }), unreadCount: left, changes: before.changes + 1 });
    try {
      const result = await api.markAllRead(category);
      const serverUpTo = result.up_to_id ?? upTo;
      set((s) => ({ notifications: patch(s.notifications, { up_to_id: serverUpTo, is_read: true, category }) }));
      broadcast({ up_to_id: serverUpTo, is_read: true, category });
      void get().refreshCount();
    } catch (e) {
      set({ notifications: before.notifications, unreadCount: before.unreadCount, error: (e as Error).message });
    }
  },

  snooze: async (id, until) => {
    const before = get();
    const target = before.notifications.find((n) => n.id === id);
    set({
      notifications: before.notifications.filter((n) => n.id !== id),
      unreadCount: Math.max(0, before.unreadCount - (target && !target.is_read ? 1 : 0)),
      total: Math.max(0, before.total - (target ? 1 : 0)),
      changes: before.changes + 1,
      error: null,
    });
    try {
      await api.snooze(id, until);
      void get().refreshCount();
    } catch (e) {
      set((s) => ({
        notifications: target ? mergeById(s.notifications, [target]) : s.notifications,
        unreadCount: before.unreadCount,
        total: before.total,
        error: (e as Error).message,
      }));
    }
  },

  markSeenLocally: (ids) => set((s) => ({ notifications: patch(s.notifications, { ids, seen: true }) })),

  act: async (id, action, body = {}) => {
    // One key per press: a retry of this press (a lost answer) runs it once, a new press is new.
    const key = `${id}-${action}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    try {
      const row = await api.act(id, action, body, key);
      set((s) => ({ notifications: patch(s.notifications, { id, actions: row.actions ?? [] }), changes: s.changes + 1 }));
      return null;
    } catch (e) {
      void get().load(); // the action's state moved on meanwhile: show it as it is now
      return (e as Error).message;
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

/** The inbox as views show it (the bell's panel, /notifications): the rows, counts, and whether more pages exist. */
export function useInbox() {
  return useNotificationStore(useShallow((s) => ({
    notifications: s.notifications,
    unreadCount: s.unreadCount,
    unseenCount: s.unseenCount,
    byCategory: s.byCategory,
    bySeverity: s.bySeverity,
    loading: s.loading,
    error: s.error,
    hasMore: s.cursorPaging ? Boolean(s.nextCursor) : s.notifications.length < s.total,
  })));
}
