export type Role = "admin" | "buyer" | "supplier";

export interface User {
  id: number;
  email: string;
  full_name: string;
  role: Role;
  factory_id: number | null;
  supplier_id: number | null;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
  /** Present when the list was read with a cursor (null on the last page). */
  next_cursor?: string | null;
}

export interface AppNotification {
  id: number;
  event_type: string;
  title: string;
  message: string;
  metadata: Record<string, unknown>;
  link: string | null;
  is_read: boolean;
  archived?: boolean;
  created_at: string;
  read_at?: string | null;
}

export interface NotificationPush extends Omit<AppNotification, "created_at"> {
  timestamp: string;
}

/** An unread count as the server pushes it; `version` orders them. */
export interface UnreadCount {
  count: number;
  version?: number;
}

/** `notification_updated`: one row, or everything up to an id after read-all. */
export type NotificationUpdate =
  | { id: number; is_read: boolean; archived: boolean; unread_count?: UnreadCount }
  | { up_to_id: number; is_read: true; unread_count?: UnreadCount };

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
}
