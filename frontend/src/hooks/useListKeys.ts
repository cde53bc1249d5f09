import { type KeyboardEvent } from "react";

/** True while the user types into a field: no shortcut fires then. */
function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return Boolean(el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)));
}

/**
 * The list's shortcuts (issue 24), while focus is in it: j/k or the arrows move between entries,
 * Enter opens (the entry is a button), e archives, u toggles read, s opens the snooze menu,
 * / focuses the search box, ? shows the shortcuts. Entries are `li[data-notification-id]`; their
 * buttons carry `data-action`.
 */
export function listKeyHandler(opts: { onHelp: () => void; search?: () => void }) {
  return (e: KeyboardEvent<HTMLElement>) => {
    if (typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
    const list = e.currentTarget;
    const entries = [...list.querySelectorAll<HTMLElement>("li[data-notification-id], li[data-thread]")];
    const current = (e.target as HTMLElement).closest<HTMLElement>("li[data-notification-id], li[data-thread]");
    const at = current ? entries.indexOf(current) : -1;
    const focusEntry = (i: number) => entries[Math.max(0, Math.min(entries.length - 1, i))]
      ?.querySelector<HTMLElement>(".note-main")?.focus();
    const act = (action: string) => current?.querySelector<HTMLElement>(`[data-action="${action}"]`)?.click();
    const keys: Record<string, () => void> = {
      j: () => focusEntry(at + 1), ArrowDown: () => focusEntry(at + 1),
      k: () => focusEntry(at - 1), ArrowUp: () => focusEntry(at - 1),
      e: () => act("archive"), u: () => act("toggle-read"), s: () => act("snooze"),
      "/": () => opts.search?.(), "?": opts.onHelp,
    };
    const run = keys[e.key];
    if (!run) return;
    e.preventDefault();
    run();
  };
}
