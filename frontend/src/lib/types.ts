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
}

export interface AppNotification {
  id: number;
  event_type: string;
  title: string;
  message: string;
  metadata: Record<string, unknown>;
  link: string | null;
  is_read: boolean;
  created_at: string;
}

export interface NotificationPush extends Omit<AppNotification, "created_at"> {
  timestamp: string;
}

export type OrderStatus =
  | "PLACED" | "MATCHED" | "CONFIRMED" | "DISPATCHED" | "IN_TRANSIT" | "DELIVERED" | "CANCELLED";

export interface Order {
  id: number;
  status: OrderStatus;
  factory_id: number;
  buyer_id: number;
  supplier_id: number | null;
  items: { id: number; part_id: number; quantity: number; unit_price: string | null }[];
  eta: string | null;
  needed_by: string | null;
  notes: string | null;
  status_history: { status: OrderStatus; at: string }[];
  created_at: string;
}

export interface Part {
  id: number;
  sku: string;
  name: string;
  category: string | null;
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

export interface EventLogEntry {
  id: number;
  event_type: string;
  entity_type: string;
  entity_id: number;
  actor_id: number | null;
  metadata: Record<string, unknown>;
  created_at: string;
  state: string;
}
