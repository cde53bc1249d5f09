import { type KeyboardEvent, useRef } from "react";
import { useTranslation } from "react-i18next";
import type { Category } from "../lib/types";

export type Tab = "all" | Category;
export const TABS: Tab[] = ["all", "orders", "stock", "system"];
const NAMES: Record<Tab, string> = { all: "All", orders: "Orders", stock: "Stock", system: "System" };

/**
 * The inbox tabs (CONTRACT §8): a `tablist`, arrow keys (and Home/End) move between tabs, each
 * named `Orders, 3 unread` (English, every locale) while it has unread rows.
 */
export function CategoryTabs({ value, onChange, counts, total, controls }: {
  value: Tab; onChange: (tab: Tab) => void; counts: Record<Category, number>; total: number; controls?: string;
}) {
  const { t } = useTranslation();
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const unread = (tab: Tab) => (tab === "all" ? total : counts[tab]);
  const onKey = (e: KeyboardEvent) => {
    const at = TABS.indexOf(value);
    const next = e.key === "ArrowRight" ? (at + 1) % TABS.length : e.key === "ArrowLeft" ? (at + TABS.length - 1) % TABS.length
      : e.key === "Home" ? 0 : e.key === "End" ? TABS.length - 1 : -1;
    if (next < 0) return;
    e.preventDefault();
    onChange(TABS[next]);
    refs.current[next]?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label="Categories" onKeyDown={onKey}>
      {TABS.map((tab, i) => {
        const n = unread(tab);
        return (
          <button
            key={tab}
            ref={(el) => { refs.current[i] = el; }}
            type="button"
            role="tab"
            id={`tab-${controls ?? "inbox"}-${tab}`}
            aria-selected={value === tab}
            aria-controls={controls}
            tabIndex={value === tab ? 0 : -1}
            aria-label={n > 0 ? `${NAMES[tab]}, ${n} unread` : NAMES[tab]}
            className="tab"
            onClick={() => onChange(tab)}
          >
            {t(`tabs.${tab}`)}
            {/* The count is drawn by CSS (data-count): the tab's name already says it, in words. */}
            {n > 0 && <span className="tab-count" aria-hidden="true" data-count={n > 99 ? "99+" : String(n)} />}
          </button>
        );
      })}
    </div>
  );
}
