import { type RefObject, useEffect } from "react";
import { api } from "../lib/api";
import { useNotificationStore } from "../stores/notifications";

const VISIBLE_MS = 1000;
const BATCH_MS = 1000;

// Ids seen and not yet sent, shared by every list of the tab (the panel, /notifications).
const pending = new Set<number>();
let flushing: ReturnType<typeof setTimeout> | null = null;
let lastSent = 0;

function schedule(): void {
  if (flushing) return;
  const wait = Math.max(0, lastSent + BATCH_MS - Date.now());
  flushing = setTimeout(() => {
    flushing = null;
    const ids = [...pending].slice(0, 500);
    if (!ids.length) return;
    ids.forEach((id) => pending.delete(id));
    lastSent = Date.now();
    api.markSeen(ids).catch(() => ids.forEach((id) => pending.add(id))); // the next batch tries again
    if (pending.size) schedule();
  }, wait);
}

/**
 * Marks as seen the unseen entries (`li[data-unseen]`) that stay visible in `root` for a second,
 * in batches: at most one PATCH /api/notifications/seen per second (CONTRACT §8).
 */
export function useSeen(root: RefObject<HTMLElement | null>, active = true): void {
  const notifications = useNotificationStore((s) => s.notifications);
  useEffect(() => {
    const el = root.current;
    if (!active || !el || typeof IntersectionObserver === "undefined") return;
    const timers = new Map<Element, ReturnType<typeof setTimeout>>();
    const observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const id = Number((entry.target as HTMLElement).dataset.notificationId);
        if (entry.isIntersecting && !timers.has(entry.target)) {
          timers.set(entry.target, setTimeout(() => {
            timers.delete(entry.target);
            observer.unobserve(entry.target);
            pending.add(id);
            useNotificationStore.getState().markSeenLocally([id]);
            schedule();
          }, VISIBLE_MS));
        } else if (!entry.isIntersecting && timers.has(entry.target)) {
          clearTimeout(timers.get(entry.target));
          timers.delete(entry.target);
        }
      }
    }, { threshold: 0.6 });
    el.querySelectorAll("li[data-unseen='true']").forEach((li) => observer.observe(li));
    return () => {
      observer.disconnect();
      timers.forEach(clearTimeout);
    };
  }, [root, active, notifications]);
}
