export function timeAgo(iso: string, now: number = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

export function badgeText(count: number): string | null {
  if (count <= 0) return null;
  return count > 99 ? "99+" : String(count);
}

export const EVENT_ICONS: Record<string, string> = {
  ORDER_PLACED: "🧾",
  SUPPLIER_MATCHED: "🤝",
  ORDER_CONFIRMED: "✅",
  ORDER_DISPATCHED: "📦",
  ORDER_IN_TRANSIT: "🚚",
  ORDER_DELIVERED: "🏁",
  ORDER_CANCELLED: "✖️",
  LOW_STOCK_ALERT: "⚠️",
  DELIVERY_PLANNED: "🗓️",
  DELIVERY_COMPLETED: "📬",
  ETA_UPDATED: "⏱️",
  MATCHING_FAILED: "❗",
};
