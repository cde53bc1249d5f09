import type { AppNotification, EventLogEntry, Order, OrderStatus, Page, Part, User } from "./types";

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

function describe(detail: unknown): string {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).slice(1).join(".")}: ${d.msg}`)
      .join("; ");
  }
  return "Something went wrong";
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const payload = await response.json().catch(() => ({}));
    if (response.status === 401 && token) onUnauthorized();
    throw new ApiError(response.status, describe((payload as { detail?: unknown }).detail));
  }
  return (await response.json()) as T;
}

export const api = {
  login: (email: string, password: string) =>
    request<{ access_token: string; user: User }>("POST", "/auth/login", { email, password }),
  me: () => request<User>("GET", "/auth/me"),
  notifications: (params: { limit?: number; offset?: number; is_read?: boolean } = {}) => {
    const query = new URLSearchParams();
    Object.entries(params).forEach(([k, v]) => v !== undefined && query.set(k, String(v)));
    return request<Page<AppNotification>>("GET", `/notifications/?${query}`);
  },
  unreadCount: () => request<{ count: number }>("GET", "/notifications/unread-count"),
  markRead: (id: number) => request<AppNotification>("PATCH", `/notifications/${id}/read`),
  markAllRead: () => request<{ updated: number }>("PATCH", "/notifications/read-all"),
  orders: (offset = 0) => request<Page<Order>>("GET", `/orders/?limit=50&offset=${offset}`),
  order: (id: number) => request<Order>("GET", `/orders/${id}`),
  placeOrder: (items: { part_id: number; quantity: number }[], notes?: string) =>
    request<Order>("POST", "/orders/", { items, notes: notes || undefined }),
  transition: (id: number, status: OrderStatus, reason?: string) =>
    request<Order>("POST", `/orders/${id}/transitions`, { status, reason: reason || undefined }),
  planDelivery: (id: number, eta: string, carrier?: string) =>
    request<unknown>("POST", `/orders/${id}/delivery`, { eta, carrier: carrier || undefined }),
  parts: () => request<Page<Part>>("GET", "/parts/?limit=100"),
  events: (params: Record<string, string>) =>
    request<Page<EventLogEntry>>("GET", `/events/?${new URLSearchParams(params)}`),
  fireEvent: (event_type: string, entity_type: string, entity_id: number) =>
    request<{ event_id: number }>("POST", "/events/", { event_type, entity_type, entity_id }),
};
