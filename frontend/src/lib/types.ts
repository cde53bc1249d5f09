export type Role = "admin" | "buyer" | "supplier";

export interface User {
  id: number;
  email: string;
  full_name: string;
  role: Role;
  factory_id: number | null;
  supplier_id: number | null;
  /** Edits the organisation's calendar (issue 25). */
  is_manager?: boolean;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
  /** Present when the list was read with a cursor (null on the last page). */
  next_cursor?: string | null;
}

export type Category = "orders" | "stock" | "system";
export type Severity = "critical" | "high" | "normal" | "low";

/** An action on a notification (CONTRACT §8), computed by the server from the entity's current state. */
export interface NotificationAction {
  id: string;
  label: string;
  kind: "primary" | "secondary";
  state: "open" | "done" | "unavailable";
  done_by: string | null;
  done_at: string | null;
}

export interface AppNotification {
  id: number;
  category?: Category;
  severity?: Severity;
  actions?: NotificationAction[];
  event_type: string;
  title: string;
  message: string;
  metadata: Record<string, unknown>;
  link: string | null;
  is_read: boolean;
  archived?: boolean;
  created_at: string;
  read_at?: string | null;
  // Round three (CONTRACT §8); older servers omit them.
  seen?: boolean;
  snoozed_until?: string | null;
  resurfaced_at?: string | null;
  /** What lists sort by: the id, or a fresh value once a snooze resurfaced. */
  position?: number;
  entity_type?: string | null;
  entity_id?: number | null;
}

/** One order (or stock row) of GET /api/notifications/threads. */
export interface Thread {
  entity_type: string;
  entity_id: number;
  title: string;
  status: string | null;
  count: number;
  unread_count: number;
  severity: string | null;
  latest: AppNotification;
}

/**
 * The `notification` push. `is_read` and `archived` are the row's real state when a replay or
 * a catch-up pushes it again; older servers omit them (read as unread, not archived).
 */
export interface NotificationPush extends Omit<AppNotification, "created_at" | "is_read" | "archived"> {
  timestamp: string;
  is_read?: boolean;
  archived?: boolean;
  seen?: boolean;
}

/** An unread count as the server pushes it; `version` orders them. */
export interface UnreadCount {
  count: number;
  version?: number;
  unseen?: number;
  by_category?: Record<Category, number>;
  by_severity?: Record<Severity, number>;
}

/** `notification_updated`: one row, or everything up to an id after read-all. */
export type NotificationUpdate =
  | { id: number; is_read: boolean; archived: boolean; unread_count?: UnreadCount }
  | { up_to_id: number; is_read: true; category?: Category; unread_count?: UnreadCount }
  | { entity_type: string; entity_id: number; up_to_id: number; is_read: true }
  | { id: number; snoozed_until: string | null }
  | { ids: number[]; seen: true }
  | { id: number; actions: NotificationAction[]; unread_count?: UnreadCount };

export type OrderStatus =
  | "PLACED" | "MATCHED" | "CONFIRMED" | "DISPATCHED" | "IN_TRANSIT" | "DELIVERED" | "CANCELLED";

export interface Delivery {
  id: number;
  order_id: number;
  eta: string;
  carrier: string | null;
  tracking_ref: string | null;
  completed_at: string | null;
}

export interface OrderItem {
  id: number;
  part_id: number;
  quantity: number;
  unit_price: string | null;
  part_name?: string | null;
  part_sku?: string | null;
}

export interface Order {
  id: number;
  status: OrderStatus;
  factory_id: number;
  buyer_id: number;
  supplier_id: number | null;
  supplier_name?: string | null;
  items: OrderItem[];
  eta: string | null;
  needed_by: string | null;
  notes: string | null;
  status_history: { status: OrderStatus; at: string }[];
  delivery?: Delivery | null;
  created_at: string;
}

export interface Part {
  id: number;
  sku: string;
  name: string;
  category: string | null;
}

export interface StockRow {
  id: number;
  supplier_id: number;
  part_id: number;
  quantity: number;
  low_stock_threshold: number;
  unit_price: string;
  lead_time_days: number;
  updated_at: string;
  part_name?: string | null;
  part_sku?: string | null;
  supplier_name?: string | null;
  is_low?: boolean;
}

export interface StockUpdate {
  quantity: number;
  low_stock_threshold: number;
  unit_price: string;
  lead_time_days: number;
}

export interface SystemEvent {
  event_id: number;
  event_type: string;
  title: string;
  message: string;
  metadata: Record<string, unknown>;
  entity_type: string;
  entity_id: number;
  timestamp: string;
}

export type EventState = "PENDING" | "QUEUED" | "PROCESSED" | "FAILED";

export interface EventLogEntry {
  id: number;
  event_type: string;
  entity_type: string;
  entity_id: number;
  actor_id: number | null;
  metadata: Record<string, unknown>;
  created_at: string;
  state: EventState | string;
  attempts?: number;
  error?: string | null;
  processed_at?: string | null;
}

/** `event_state` socket message: an event became PROCESSED or FAILED. */
export interface EventStateMessage {
  event_id: number;
  state: EventState | string;
  attempts: number;
  error: string | null;
  processed_at: string | null;
}

export interface Preferences {
  event_types: Record<string, { in_app: boolean; email: boolean }>;
  /** `en` | `de`; null until the next sign-in sets it (CONTRACT §8). Older servers omit it. */
  locale?: string | null;
  /** IANA zone; null or absent: the browser's. */
  timezone?: string | null;
  /** The inbox grouped by order (issue 24). */
  group_by_order?: boolean;
  /** Quiet hours (issue 25): null = always. */
  email_schedule?: Weekly | null;
  follow_organisation_calendar?: boolean;
}

/** `{"mon": [["08:00", "18:00"]], ...}`: ranges [start, end); a day absent = no mail that day. */
export type Weekly = Record<string, string[][]>;

export interface EmailWindow {
  open_now: boolean;
  next_opening: string | null;
  /** The organisation's calendar has no opening in the next 14 days: the user's own schedule applies. */
  fallback: boolean;
  organisation: { kind: string; id: number } | null;
}

export interface Calendar {
  timezone: string;
  weekly: Weekly | null;
  holidays: { country: string; subdivision: string | null } | null;
  closed_dates: string[];
}
