import {
  Bell, CalendarClock, CircleCheck, CircleX, ClipboardList, Clock, Handshake, type LucideIcon, Package,
  PackageCheck, PackageOpen, SearchX, Siren, TriangleAlert, Truck,
} from "lucide-react";

export interface EventKind {
  label: string;
  icon: LucideIcon;
  /** Badge background; every one has at least 4.5:1 contrast with white text (WCAG AA). */
  color: string;
}

/** The event catalogue as people see it: one label, icon and colour per type. */
export const EVENT_KINDS: Record<string, EventKind> = {
  ORDER_PLACED: { label: "Order placed", icon: ClipboardList, color: "#1d4ed8" },
  SUPPLIER_MATCHED: { label: "Supplier matched", icon: Handshake, color: "#6d28d9" },
  ORDER_CONFIRMED: { label: "Order confirmed", icon: CircleCheck, color: "#047857" },
  ORDER_DISPATCHED: { label: "Order dispatched", icon: Package, color: "#0e7490" },
  ORDER_IN_TRANSIT: { label: "Order in transit", icon: Truck, color: "#075985" },
  ORDER_DELIVERED: { label: "Order delivered", icon: PackageCheck, color: "#166534" },
  ORDER_CANCELLED: { label: "Order cancelled", icon: CircleX, color: "#b91c1c" },
  LOW_STOCK_ALERT: { label: "Low stock", icon: TriangleAlert, color: "#92400e" },
  DELIVERY_PLANNED: { label: "Delivery planned", icon: CalendarClock, color: "#4338ca" },
  DELIVERY_COMPLETED: { label: "Delivery completed", icon: PackageOpen, color: "#115e59" },
  ETA_UPDATED: { label: "ETA updated", icon: Clock, color: "#a21caf" },
  MATCHING_FAILED: { label: "Matching failed", icon: SearchX, color: "#9f1239" },
  ORDER_ESCALATED: { label: "Order escalated", icon: Siren, color: "#c2410c" },
};

export const EVENT_TYPES = Object.keys(EVENT_KINDS);
export const ENTITY_TYPES = ["order", "inventory", "supplier", "part", "user"];
export const EVENT_STATES = ["PENDING", "QUEUED", "PROCESSED", "FAILED"];
/** Types that cannot be muted in-app (CONTRACT §4). */
export const CRITICAL_TYPES = new Set(["MATCHING_FAILED", "ORDER_CANCELLED", "ORDER_ESCALATED"]);

const FALLBACK: EventKind = { label: "Event", icon: Bell, color: "#374151" };

export function eventKind(type: string): EventKind {
  return EVENT_KINDS[type] ?? { ...FALLBACK, label: type };
}

/** The entity an event type is usually about, for the "Fire an event" form. */
export function defaultEntity(type: string): string {
  return type === "LOW_STOCK_ALERT" ? "inventory" : "order";
}
