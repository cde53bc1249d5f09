import { AlarmClock } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { browserTimeZone, timeZone } from "../../i18n";
import { fromLocalInput, inOneHour, tomorrowAtEight } from "../../lib/snooze";
import { useNotificationStore } from "../../stores/notifications";

/** The `Snooze` menu of one entry: `1 hour`, `Tomorrow 8:00` (the user's zone), `Pick a date and time`. */
export function SnoozeMenu({ id, title }: { id: number; title: string }) {
  const [open, setOpen] = useState(false);
  const [picking, setPicking] = useState(false);
  const [picked, setPicked] = useState("");
  const root = useRef<HTMLSpanElement | null>(null);
  const button = useRef<HTMLButtonElement | null>(null);
  const { t } = useTranslation();
  const zone = timeZone() ?? browserTimeZone();

  useEffect(() => {
    if (!open) return;
    root.current?.querySelector<HTMLElement>("[role=menuitem]")?.focus();
    const onDown = (e: MouseEvent) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [open]);

  const close = () => {
    setOpen(false);
    setPicking(false);
    button.current?.focus();
  };
  const snooze = (until: Date | null) => {
    if (!until) return;
    close();
    void useNotificationStore.getState().snooze(id, until.toISOString());
  };
  const onMenuKey = (e: React.KeyboardEvent) => {
    e.stopPropagation(); // the list's shortcuts stay out of the menu
    if (e.key === "Escape") close();
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const items = [...(root.current?.querySelectorAll<HTMLElement>("[role=menuitem]") ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    items[(at + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length]?.focus();
    e.preventDefault();
  };

  return (
    <span className="snooze" ref={root}>
      <button ref={button} type="button" className="icon-button" aria-label="Snooze" aria-haspopup="menu"
        aria-expanded={open} title={t("snooze.title", { title })} data-action="snooze"
        onClick={() => (open ? close() : setOpen(true))}>
        <AlarmClock size={16} aria-hidden="true" />
      </button>
      {open && (
        <div className="snooze-menu" role="menu" aria-label="Snooze" onKeyDown={onMenuKey}>
          <button type="button" role="menuitem" aria-label="1 hour" onClick={() => snooze(inOneHour())}>
            {t("snooze.hour")}
          </button>
          <button type="button" role="menuitem" aria-label="Tomorrow 8:00" onClick={() => snooze(tomorrowAtEight(zone))}>
            {t("snooze.tomorrow")}
          </button>
          <button type="button" role="menuitem" aria-label="Pick a date and time" aria-expanded={picking}
            onClick={() => setPicking(!picking)}>
            {t("snooze.pick")}
          </button>
          {picking && (
            <form className="snooze-pick" onSubmit={(e) => { e.preventDefault(); snooze(fromLocalInput(picked, zone)); }}>
              <label>
                <span>{t("snooze.when", { zone })}</span>
                <input type="datetime-local" required value={picked} onChange={(e) => setPicked(e.target.value)} />
              </label>
              <button type="submit" className="button-small">{t("snooze.confirm")}</button>
            </form>
          )}
        </div>
      )}
    </span>
  );
}
