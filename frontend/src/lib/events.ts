import {
  Bell, CalendarClock, CircleCheck, CircleX, ClipboardList, Clock, Handshake, type LucideIcon, Package,
  PackageCheck, PackageOpen, SearchX, Siren, TriangleAlert, Truck,
} from "lucide-react";

import i18n from "../i18n";

/** An event type's icon and colour; its name is events.{TYPE} in the catalogues (eventLabel). */
export interface EventKind {
  icon: LucideIcon;
  /** Badge background; every one has at least 4.5:1 contrast with white text (WCAG AA). */
  color: string;
}

/** The event catalogue as people see it: one icon and colour per type. */
export const EVENT_KINDS: Record<string, EventKind> = {
  ORDER_PLACED: { icon: ClipboardList, color: "#1d4ed8" },
  SUPPLIER_MATCHED: { icon: Handshake, color: "#6d28d9" },
  ORDER_CONFIRMED: { icon: CircleCheck, color: "#047857" },
  ORDER_DISPATCHED: { icon: Package, color: "#0e7490" },
  ORDER_IN_TRANSIT: { icon: Truck, color: "#075985" },
  ORDER_DELIVERED: { icon: PackageCheck, color: "#166534" },
  ORDER_CANCELLED: { icon: CircleX, color: "#b91c1c" },
  LOW_STOCK_ALERT: { icon: TriangleAlert, color: "#92400e" },
  DELIVERY_PLANNED: { icon: CalendarClock, color: "#4338ca" },
  DELIVERY_COMPLETED: { icon: PackageOpen, color: "#115e59" },
  ETA_UPDATED: { icon: Clock, color: "#a21caf" },
  MATCHING_FAILED: { icon: SearchX, color: "#9f1239" },
  ORDER_ESCALATED: { icon: Siren, color: "#c2410c" },
};

export const EVENT_TYPES = Object.keys(EVENT_KINDS);
export const ENTITY_TYPES = ["order", "inventory", "supplier", "part", "user"];
export const EVENT_STATES = ["PENDING", "QUEUED", "PROCESSED", "FAILED"];
/** Types that cannot be muted in-app (CONTRACT §4). */
export const CRITICAL_TYPES = new Set(["MATCHING_FAILED", "ORDER_CANCELLED", "ORDER_ESCALATED"]);

const FALLBACK: EventKind = { icon: Bell, color: "#374151" };

export function eventKind(type: string): EventKind {
  return EVENT_KINDS[type] ?? FALLBACK;
}

/** An event type as people read it ("Order dispatched"), in the current language; an unknown one as its code. */
export function eventLabel(type: string): string {
  return i18n.t(`events.${type}`, { defaultValue: type });
}

/** An entity type (order, inventory, ...) as people read it. */
export function entityLabel(type: string): string {
  return i18n.t(`entities.${type}`, { defaultValue: type });
}

/** The entity an event type is usually about, for the "Fire an event" form. */
export function defaultEntity(type: string): string {
  return type === "LOW_STOCK_ALERT" ? "inventory" : "order";
}
