import { X } from "lucide-react";
import { type RefObject, useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { create } from "zustand";
import { api } from "../../lib/api";
import { useNotificationStore } from "../../stores/notifications";

/** `group_by_order` from GET /api/preferences/, read once per sign-in, saved on every toggle. */
export const useGroupByOrder = create<{ value: boolean; loaded: boolean; load: () => void; set: (v: boolean) => void }>(
  (set, get) => ({
    value: false,
    loaded: false,
    load: () => {
      if (get().loaded) return;
      set({ loaded: true });
      api.preferences().then((p) => set({ value: Boolean(p.group_by_order) }), () => set({ loaded: false }));
    },
    set: (value) => {
      const before = get().value;
      set({ value });
      api.setGroupByOrder(value).catch(() => set({ value: before }));
    },
  }),
);

/** The `Group by order` switch (role="switch"), remembered on the server. */
export function GroupSwitch() {
  const { value, load, set } = useGroupByOrder();
  const { t } = useTranslation();
  useEffect(load, [load]);
  return (
    <button type="button" role="switch" aria-checked={value} aria-label="Group by order" className="switch"
      onClick={() => set(!value)}>
      <span className="switch-track" aria-hidden="true"><span className="switch-thumb" /></span>
      {t("inbox.groupByOrder")}
    </button>
  );
}

/**
 * `3 new`: rows that arrived while the list is scrolled away from its top. Clicking scrolls
 * back up. `scroller` is the list's scrolling box (null: the window).
 */
export function NewBanner({ scroller }: { scroller: RefObject<HTMLElement | null> | null }) {
  const arrivals = useNotificationStore((s) => s.arrivals);
  const [fresh, setFresh] = useState(0);
  const counted = useRef(arrivals);
  const { t } = useTranslation();
  const away = useCallback(() => (scroller?.current ? scroller.current.scrollTop : window.scrollY) > 40, [scroller]);
  // Counted where the list is when they arrive: away from the top, they are news; at the top, seen.
  useEffect(() => {
    const added = arrivals - counted.current;
    counted.current = arrivals;
    if (added > 0) setFresh((n) => (away() ? n + added : 0));
  }, [arrivals, away]);
  useEffect(() => {
    const target: HTMLElement | Window = scroller?.current ?? window;
    const onScroll = () => {
      if (!away()) setFresh(0);
    };
    target.addEventListener("scroll", onScroll, { passive: true });
    return () => target.removeEventListener("scroll", onScroll);
  }, [scroller, away]);
  if (fresh <= 0) return null;
  const toTop = () => {
    (scroller?.current ?? window).scrollTo({ top: 0, behavior: "smooth" });
    setFresh(0);
  };
  return (
    <button type="button" className="new-banner" onClick={toTop}>
      {t("inbox.newCount", { count: fresh })}
    </button>
  );
}

const SHORTCUTS: [string, string][] = [
  ["j / ↓", "inbox.keys.next"], ["k / ↑", "inbox.keys.previous"], ["Enter", "inbox.keys.open"],
  ["e", "inbox.keys.archive"], ["u", "inbox.keys.read"], ["s", "inbox.keys.snooze"],
  ["/", "inbox.keys.search"], ["?", "inbox.keys.help"],
];

/** The shortcuts dialog (`?`): modal, closed by Escape or its button, focus back where it was. */
export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDivElement | null>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    ref.current?.querySelector<HTMLElement>("button")?.focus();
    return () => before?.focus();
  }, []);
  return (
    <div className="modal-backdrop" onMouseDown={onClose}>
      <div ref={ref} role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" className="modal"
        onMouseDown={(e) => e.stopPropagation()}
        onKeyDown={(e) => { e.stopPropagation(); if (e.key === "Escape" || e.key === "?") onClose(); }}>
        <div className="panel-head">
          <h2>{t("inbox.keys.title")}</h2>
          <button type="button" className="icon-button" aria-label="Close" onClick={onClose}><X size={16} aria-hidden="true" /></button>
        </div>
        <dl className="shortcuts">
          {SHORTCUTS.map(([key, label]) => (
            <div key={key}><dt><kbd>{key}</kbd></dt><dd>{t(label)}</dd></div>
          ))}
        </dl>
      </div>
    </div>
  );
}
