import { act, render, screen } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";
import "../../i18n";
import type { NotificationPush } from "../../lib/types";
import { useNotificationStore } from "../../stores/notifications";
import { NewBanner } from "./InboxExtras";

const push = (id: number, extra: Partial<NotificationPush> = {}): NotificationPush => ({
  id, event_type: "ETA_UPDATED", title: "ETA Updated", message: "m", metadata: {}, link: null,
  timestamp: "2026-12-03T10:00:00Z", seen: false, position: id, ...extra,
});

describe("inbox round two", () => {
  beforeEach(() => useNotificationStore.getState().reset());

  it("a resurfaced row moves to the top; a new one counts as an arrival", () => {
    const store = useNotificationStore.getState;
    store().receive(push(1));
    store().receive(push(2));
    expect(store().notifications.map((n) => n.id)).toEqual([2, 1]);
    expect(store().receive(push(1, { resurfaced_at: "2026-12-03T11:00:00Z", position: 9 }))).toBe(true);
    expect(store().notifications.map((n) => n.id)).toEqual([1, 2]);
    expect(store().receive(push(1, { resurfaced_at: "2026-12-03T11:00:00Z", position: 9 }))).toBe(false);
    expect(store().arrivals).toBe(3);
  });

  it("shows `N new` for arrivals while scrolled away from the top", () => {
    render(<NewBanner scroller={null} />);
    expect(screen.queryByRole("button")).toBeNull();
    act(() => {
      Object.defineProperty(window, "scrollY", { value: 500, configurable: true });
      window.dispatchEvent(new Event("scroll"));
    });
    act(() => {
      for (const id of [5, 6, 7]) useNotificationStore.getState().receive(push(id));
    });
    expect(screen.getByRole("button", { name: "3 new" })).toBeTruthy();
  });
});
