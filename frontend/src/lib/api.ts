import type {
  AppNotification, Calendar, Category, EmailWindow, EventLogEntry, Order, OrderStatus, Page, Part, Preferences, StockRow,
  StockUpdate, Thread, UnreadCount, User,
} from "./types";
import i18n from "../i18n";

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

let token: string | null = null;
let onUnauthorized: () => void = () => {};

export function setToken(value: string | null): void {
  token = value;
}

export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

function describe(detail: unknown, status: number): string {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d: { loc?: unknown[]; msg?: string }) => {
        const where = (d.loc ?? []).slice(1).join(".");
        return where ? `${where}: ${d.msg}` : String(d.msg);
      })
      .join("; ");
  }
  if (status >= 500) return i18n.t("errors.server", { status });
  return i18n.t("errors.failed", { status });
}

async function request<T>(method: string, path: string, body?: unknown, extra?: Record<string, string>): Promise<T> {
  const headers: Record<string, string> = { ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(`/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, i18n.t("errors.unreachable"));
  }
  if (!response.ok) {
    const payload = await response.json().catch(() => ({}));
    if (response.status === 401 && token) onUnauthorized();
    throw new ApiError(response.status, describe((payload as { detail?: unknown }).detail, response.status));
  }
  return (await response.json()) as T;
}

function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  Object.entries(params).forEach(([k, v]) => v !== undefined && v !== null && v !== "" && q.set(k, String(v)));
  return q.toString();
}

export interface NotificationQuery {
  limit?: number;
  offset?: number;
  cursor?: string;
  is_read?: boolean;
  archived?: boolean;
  q?: string;
  snoozed?: boolean;
  entity_type?: string;
  entity_id?: number;
  category?: Category;
}

export const api = {
  login: (email: string, password: string) =>
    request<{ access_token: string; user: User }>("POST", "/auth/login", { email, password }),
  me: () => request<User>("GET", "/auth/me"),

  notifications: (params: NotificationQuery = {}) =>
    request<Page<AppNotification>>("GET", `/notifications/?${query({ ...params })}`),
  unreadCount: () => request<UnreadCount>("GET", "/notifications/unread-count"),
  markRead: (id: number) => request<AppNotification>("PATCH", `/notifications/${id}/read`),
  markUnread: (id: number) => request<AppNotification>("PATCH", `/notifications/${id}/unread`),
  archive: (id: number) => request<AppNotification>("PATCH", `/notifications/${id}/archive`),
  unarchive: (id: number) => request<AppNotification>("PATCH", `/notifications/${id}/unarchive`),
  snooze: (id: number, until: string) => request<AppNotification>("PATCH", `/notifications/${id}/snooze`, { until }),
  unsnooze: (id: number) => request<AppNotification>("PATCH", `/notifications/${id}/unsnooze`),
  markSeen: (ids: number[]) => request<{ updated: number }>("PATCH", "/notifications/seen", { ids }),
  threads: (cursor?: string | null) =>
    request<{ items: Thread[]; next_cursor: string | null }>("GET", `/notifications/threads?${query({ limit: 20, cursor })}`),
  readThread: (entityType: string, entityId: number) =>
    request<{ updated: number }>("PATCH", `/notifications/threads/${entityType}/${entityId}/read`),
  setGroupByOrder: (value: boolean) => request<Preferences>("PUT", "/preferences/", { group_by_order: value }),
  markAllRead: (category?: Category) =>
    request<{ updated: number; up_to_id?: number | null }>("PATCH", "/notifications/read-all", category ? { category } : undefined),
  /** Runs a notification's action; the key makes a retry (a double click, a lost answer) run it once. */
  act: (id: number, action: string, body: { quantity?: number; reason?: string }, key: string) =>
    request<AppNotification>("POST", `/notifications/${id}/actions/${action}`, body, { "Idempotency-Key": key }),

  preferences: () => request<Preferences>("GET", "/preferences/"),
  setPreferences: (body: Preferences) => request<Preferences>("PUT", "/preferences/", body),
  emailWindow: () => request<EmailWindow>("GET", "/preferences/email-window"),
  calendar: (kind: string, id: number) => request<Calendar>("GET", `/${kind}/${id}/calendar`),
  setCalendar: (kind: string, id: number, body: Calendar) => request<Calendar>("PUT", `/${kind}/${id}/calendar`, body),

  orders: (offset = 0, limit = 50) => request<Page<Order>>("GET", `/orders/?limit=${limit}&offset=${offset}`),
  order: (id: number) => request<Order>("GET", `/orders/${id}`),
  placeOrder: (items: { part_id: number; quantity: number }[], notes?: string) =>
    request<Order>("POST", "/orders/", { items, notes: notes || undefined }),
  transition: (id: number, status: OrderStatus, reason?: string) =>
    request<Order>("POST", `/orders/${id}/transitions`, { status, reason: reason || undefined }),
  planDelivery: (id: number, eta: string, carrier?: string, tracking_ref?: string) =>
    request<unknown>("POST", `/orders/${id}/delivery`, {
      eta, carrier: carrier || undefined, tracking_ref: tracking_ref || undefined,
    }),
  parts: () => request<Page<Part>>("GET", "/parts/?limit=100"),

  stock: (params: { part_id?: number; limit?: number; offset?: number } = {}) =>
    request<Page<StockRow>>("GET", `/inventory/?${query({ limit: 50, ...params })}`),
  setStock: (partId: number, body: StockUpdate) => request<StockRow>("PUT", `/inventory/${partId}`, body),

  events: (params: Record<string, string | number | undefined>) =>
    request<Page<EventLogEntry>>("GET", `/events/?${query(params)}`),
  fireEvent: (event_type: string, entity_type: string, entity_id: number, metadata?: Record<string, unknown>) =>
    request<{ event_id: number }>("POST", "/events/", { event_type, entity_type, entity_id, metadata }),
  replay: (id: number) => request<unknown>("POST", `/events/${id}/replay`),
};
