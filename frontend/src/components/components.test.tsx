import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EVENT_KINDS } from "../lib/events";
import { badgeText, TICK_MS, TimeAgo, timeAgo } from "../lib/format";
import type { EventLogEntry, NotificationPush, SystemEvent } from "../lib/types";
import { applyEventState } from "../hooks/useEventLog";
import { SettingsPage } from "../pages/Settings";
import { useNotificationStore } from "../stores/notifications";
import { addToFeed, FeedList } from "./LiveActivityFeed";
import { NotificationBell } from "./NotificationBell";
import { nextStatus, OrderStatusTracker } from "./OrderStatusTracker";

const push = (id: number, extra: Partial<NotificationPush> = {}): NotificationPush => ({
  id, event_type: "ORDER_DISPATCHED", title: `Title ${id}`, message: "Your order is on its way",
  metadata: { order_id: 7 }, link: "/orders/7", is_read: false, timestamp: new Date().toISOString(), ...extra,
});

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
const store = () => useNotificationStore.getState();

afterEach(() => {
  store().reset();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("notification store", () => {
  it("adds a pushed notification once, newest (highest id) first", () => {
    expect(store().receive(push(1))).toBe(true);
    expect(store().receive(push(1))).toBe(false);
    store().receive(push(3));
    store().receive(push(2));
    expect(store().notifications.map((n) => n.id)).toEqual([3, 2, 1]);
  });

  it("a replayed or caught-up push of a row it holds is not new: no toast, no second entry", () => {
    expect(store().receive(push(4))).toBe(true);
    expect(store().receive(push(4, { is_read: false, archived: false }))).toBe(false);
    expect(store().notifications.map((n) => n.id)).toEqual([4]);
  });

  it("a pushed row that is already read is listed as read, without a toast", () => {
    expect(store().receive(push(5, { is_read: true, archived: false }))).toBe(false);
    expect(store().notifications).toMatchObject([{ id: 5, is_read: true, archived: false }]);
  });

  it("a pushed archived row is neither listed nor toasted; a held one leaves the inbox", () => {
    expect(store().receive(push(6, { is_read: false, archived: true }))).toBe(false);
    expect(store().notifications).toEqual([]);
    store().receive(push(7));
    expect(store().receive(push(7, { is_read: true, archived: true }))).toBe(false);
    expect(store().notifications).toEqual([]);
  });

  it("a push without is_read and archived is a new unread row", () => {
    const { is_read: _r, ...bare } = push(8);
    expect(store().receive(bare as NotificationPush)).toBe(true);
    expect(store().notifications).toMatchObject([{ id: 8, is_read: false, archived: false }]);
  });

  it("a push older than every loaded row, while older pages remain, waits for those pages", () => {
    useNotificationStore.setState({ notifications: [], total: 50 });
    store().receive(push(30));
    useNotificationStore.setState({ total: 50 });
    expect(store().receive(push(12))).toBe(false);
    expect(store().notifications.map((n) => n.id)).toEqual([30]);
  });

  it("keeps the unread count with the highest version, whatever the order of arrival", () => {
    store().setUnreadCount({ count: 5, version: 7 });
    store().setUnreadCount({ count: 3, version: 5 }); // older, arrived late
    expect(store().unreadCount).toBe(5);
    store().setUnreadCount({ count: 2, version: 8 });
    expect(store().unreadCount).toBe(2);
    expect(store().unreadVersion).toBe(8);
  });

  it("does not let a REST count read before a newer push overwrite it", async () => {
    let answer: (r: Response) => void = () => {};
    vi.spyOn(globalThis, "fetch").mockImplementation((input) => {
      if (String(input).includes("unread-count")) return new Promise((r) => { answer = r; });
      return Promise.resolve(json({ items: [], total: 0, limit: 20, offset: 0 }));
    });
    const loading = store().load();
    store().setUnreadCount({ count: 4, version: 2 }); // pushed while the request was out
    await waitFor(() => expect(answer).not.toBe(undefined));
    answer(json({ count: 1 }));
    await loading;
    expect(store().unreadCount).toBe(4);
  });

  it("applies notification_updated to the entries, not only the count", () => {
    for (const id of [1, 2, 3]) store().receive(push(id));
    store().applyUpdate({ id: 2, is_read: true, archived: false, unread_count: { count: 2, version: 4 } });
    expect(store().notifications.find((n) => n.id === 2)?.is_read).toBe(true);
    expect(store().unreadCount).toBe(2);
    store().applyUpdate({ id: 3, is_read: false, archived: true, unread_count: { count: 1, version: 5 } });
    expect(store().notifications.map((n) => n.id)).toEqual([2, 1]);
    store().applyUpdate({ up_to_id: 2, is_read: true, unread_count: { count: 0, version: 6 } });
    expect(store().notifications.every((n) => n.is_read)).toBe(true);
    expect(store().unreadCount).toBe(0);
    // A late, older count changes nothing.
    store().applyUpdate({ id: 1, is_read: true, archived: false, unread_count: { count: 3, version: 5 } });
    expect(store().unreadCount).toBe(0);
  });

  it("read-all covers only ids up to up_to_id", () => {
    for (const id of [1, 2, 3]) store().receive(push(id));
    store().applyUpdate({ up_to_id: 2, is_read: true });
    expect(store().notifications.map((n) => [n.id, n.is_read])).toEqual([[3, false], [2, true], [1, true]]);
  });

  it("dedupes a push that REST already returned", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation((input) =>
      Promise.resolve(String(input).includes("unread-count") ? json({ count: 1 })
        : json({ items: [{ ...push(9), created_at: new Date().toISOString(), timestamp: undefined }], total: 1, limit: 20, offset: 0 })));
    await store().load();
    expect(store().receive(push(9))).toBe(false);
    expect(store().notifications).toHaveLength(1);
  });

  it("rolls back an optimistic read when the server says no", async () => {
    store().receive(push(5));
    store().setUnreadCount(1);
    vi.spyOn(globalThis, "fetch").mockResolvedValue(json({ detail: "Notification 5 not found" }, 404));
    await store().markAsRead(5);
    expect(store().unreadCount).toBe(1);
    expect(store().notifications[0].is_read).toBe(false);
    expect(store().error).toBe("Notification 5 not found");
  });

  it("archives optimistically: the entry leaves the inbox and the count", async () => {
    store().receive(push(5));
    store().setUnreadCount(1);
    vi.spyOn(globalThis, "fetch").mockImplementation((input) =>
      Promise.resolve(String(input).includes("unread-count") ? json({ count: 0 }) : json({ ...push(5), archived: true })));
    await store().archive(5);
    expect(store().notifications).toHaveLength(0);
    expect(store().unreadCount).toBe(0);
  });

  it("loads more with the cursor when the server gives one, by offset otherwise", async () => {
    const urls: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation((input) => {
      urls.push(String(input));
      if (String(input).includes("unread-count")) return Promise.resolve(json({ count: 0 }));
      return Promise.resolve(json({ items: [], total: 40, limit: 20, offset: 0, next_cursor: "abc" }));
    });
    await store().load();
    await store().loadMore();
    expect(urls.at(-1)).toContain("cursor=abc");
    expect(urls.at(-1)).not.toContain("offset");
  });

  it("marks all read optimistically", async () => {
    store().receive(push(1));
    store().setUnreadCount(1);
    vi.spyOn(globalThis, "fetch").mockImplementation((input) =>
      Promise.resolve(String(input).includes("unread-count") ? json({ count: 0 }) : json({ updated: 1, up_to_id: 1 })));
    await store().markAllRead();
    expect(store().unreadCount).toBe(0);
    expect(store().notifications[0].is_read).toBe(true);
  });
});

describe("relative time", () => {
  it("says just now, then minutes and hours", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(timeAgo("2026-01-01T11:59:50Z", now)).toBe("just now");
    vi.useFakeTimers();
    vi.setSystemTime(now);
    expect(timeAgo("2026-01-01T11:55:00Z", now)).toBe("5 minutes ago");
    expect(timeAgo("2026-01-01T09:00:00Z", now)).toBe("3 hours ago");
  });
});

describe("TimeAgo", () => {
  it("ticks: the same entry reads later as time passes, without new data", () => {
    vi.useFakeTimers();
    vi.setSystemTime(Date.parse("2026-01-01T12:00:00Z"));
    render(<TimeAgo iso="2026-01-01T12:00:00Z" />);
    expect(screen.getByText("just now")).toBeInTheDocument();
    act(() => {
      vi.setSystemTime(Date.parse("2026-01-01T12:03:00Z"));
      vi.advanceTimersByTime(TICK_MS);
    });
    expect(screen.getByText("3 minutes ago")).toBeInTheDocument();
  });
});

describe("NotificationBell", () => {
  const renderBell = () =>
    render(
      <MemoryRouter initialEntries={["/"]}>
        <Routes>
          <Route path="/" element={<NotificationBell />} />
          <Route path="/orders/:id" element={<p>order page</p>} />
        </Routes>
      </MemoryRouter>,
    );

  it("badge shows the count, none at 0 and 99+ past 99", () => {
    expect(badgeText(0)).toBeNull();
    expect(badgeText(3)).toBe("3");
    expect(badgeText(100)).toBe("99+");
    store().setUnreadCount(3);
    renderBell();
    expect(screen.getByRole("button", { name: "Notifications, 3 unread" })).toBeInTheDocument();
    expect(screen.getByTestId("bell-badge")).toHaveTextContent("3");
  });

  it("draws SVG icons, never emoji", () => {
    store().receive(push(9));
    renderBell();
    fireEvent.click(screen.getByRole("button", { name: /^Notifications/ }));
    const dialog = screen.getByRole("dialog", { name: "Notifications" });
    expect(dialog.querySelector("svg")).not.toBeNull();
    expect(document.body.textContent).not.toMatch(/\p{Extended_Pictographic}/u);
  });

  it("opens a panel, and a click marks read and navigates", async () => {
    store().receive(push(9));
    store().setUnreadCount(1);
    vi.spyOn(globalThis, "fetch").mockImplementation((input) =>
      Promise.resolve(String(input).includes("unread-count") ? json({ count: 0 }) : json({ ...push(9), is_read: true })));
    renderBell();
    fireEvent.click(screen.getByRole("button", { name: /^Notifications/ }));
    const dialog = screen.getByRole("dialog", { name: "Notifications" });
    expect(dialog).toHaveTextContent("Title 9");
    expect(screen.getByRole("button", { name: "Mark all read" })).toBeEnabled();
    fireEvent.click(screen.getByRole("button", { name: /^Title 9/ }));
    await waitFor(() => expect(screen.getByText("order page")).toBeInTheDocument());
    expect(store().unreadCount).toBe(0);
  });

  it("entries follow another tab's change (notification_updated)", () => {
    store().receive(push(9));
    renderBell();
    fireEvent.click(screen.getByRole("button", { name: /^Notifications/ }));
    expect(screen.getByRole("button", { name: "Mark read: Title 9" })).toBeInTheDocument();
    act(() => store().applyUpdate({ id: 9, is_read: true, archived: false }));
    expect(screen.getByRole("button", { name: "Mark unread: Title 9" })).toBeInTheDocument();
    act(() => store().applyUpdate({ id: 9, is_read: true, archived: true }));
    expect(screen.queryByText("Title 9")).toBeNull();
  });

  it("Escape closes the panel and returns focus", () => {
    renderBell();
    const button = screen.getByRole("button", { name: /^Notifications/ });
    fireEvent.click(button);
    expect(screen.getByText("You're all caught up.")).toBeInTheDocument();
    fireEvent.keyDown(document, { key: "Escape" });
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(document.activeElement).toBe(button);
  });
});

describe("OrderStatusTracker", () => {
  const steps = () => [...screen.getByRole("list", { name: "Order status" }).querySelectorAll("li")];

  it("lights the reached steps and marks the current one", () => {
    render(<OrderStatusTracker status="DISPATCHED" />);
    expect(steps().map((s) => s.getAttribute("data-reached"))).toEqual(["true", "true", "true", "true", "false", "false"]);
    expect(steps()[3]).toHaveAttribute("aria-current", "step");
  });

  it("a cancelled order keeps the steps it reached lit and says it was cancelled", () => {
    const at = new Date().toISOString();
    render(<OrderStatusTracker status="CANCELLED" history={[
      { status: "PLACED", at }, { status: "MATCHED", at }, { status: "CONFIRMED", at }, { status: "CANCELLED", at },
    ]} />);
    expect(screen.getByText(/This order was cancelled after it was confirmed/)).toBeInTheDocument();
    expect(steps().map((s) => s.getAttribute("data-reached"))).toEqual(["true", "true", "true", "false", "false", "false"]);
  });

  it("never moves backwards on a late order_status", () => {
    expect(nextStatus("DISPATCHED", "CONFIRMED")).toBe("DISPATCHED");
    expect(nextStatus("DISPATCHED", "IN_TRANSIT")).toBe("IN_TRANSIT");
    expect(nextStatus("MATCHED", "CANCELLED")).toBe("CANCELLED");
    expect(nextStatus("CANCELLED", "MATCHED")).toBe("CANCELLED");
    expect(nextStatus("DELIVERED", "IN_TRANSIT")).toBe("DELIVERED");
  });
});

describe("LiveActivityFeed and event log", () => {
  const event = (id: number, type = "ORDER_PLACED"): SystemEvent => ({
    event_id: id, event_type: type, title: "New Order", message: `message ${id}`,
    metadata: {}, entity_type: "order", entity_id: 1, timestamp: new Date().toISOString(),
  });

  it("keeps newest first, no duplicates, bounded", () => {
    let feed: SystemEvent[] = [];
    for (let i = 1; i <= 5; i++) feed = addToFeed(feed, event(i), 3);
    feed = addToFeed(feed, event(5), 3);
    expect(feed.map((e) => e.event_id)).toEqual([5, 4, 3]);
    render(<FeedList events={[...feed, event(9, "ORDER_ESCALATED"), event(8, "MATCHING_FAILED")]} />);
    expect(screen.getByRole("region", { name: "Live activity" })).toHaveTextContent("message 5");
  });

  it("gives every event type its own colour with AA contrast against white text", () => {
    const colours = Object.values(EVENT_KINDS).map((k) => k.color.toLowerCase());
    expect(new Set(colours).size).toBe(colours.length);
    expect(Object.keys(EVENT_KINDS)).toEqual(expect.arrayContaining(["ORDER_ESCALATED", "MATCHING_FAILED"]));
    const lum = (hex: string) => {
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
        .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    for (const c of colours) expect((1.05) / (lum(c) + 0.05)).toBeGreaterThanOrEqual(4.5);
  });

  it("event_state moves a row's state, attempts and error", () => {
    const row: EventLogEntry = {
      id: 4, event_type: "ORDER_PLACED", entity_type: "order", entity_id: 1, actor_id: null, metadata: {},
      created_at: new Date().toISOString(), state: "QUEUED", attempts: 0, error: null,
    };
    const [moved, other] = applyEventState([row, { ...row, id: 5 }], {
      event_id: 4, state: "FAILED", attempts: 1, error: "boom", processed_at: null,
    });
    expect(moved).toMatchObject({ state: "FAILED", attempts: 1, error: "boom" });
    expect(other.state).toBe("QUEUED");
  });
});

describe("Settings", () => {
  it("a row per event type with In app and Email switches; critical in-app switches are locked", async () => {
    vi.spyOn(globalThis, "fetch").mockResolvedValue(json({ event_types: {
      ORDER_DISPATCHED: { in_app: true, email: false },
      ORDER_CANCELLED: { in_app: true, email: true },
    } }));
    render(<SettingsPage />);
    const rows = await screen.findAllByRole("row");
    const dispatched = rows.find((r) => r.getAttribute("data-event-type") === "ORDER_DISPATCHED")!;
    const cancelled = rows.find((r) => r.getAttribute("data-event-type") === "ORDER_CANCELLED")!;
    const inApp = (row: HTMLElement) => row.querySelector('[role="switch"]') as HTMLInputElement;
    expect(screen.getAllByRole("switch", { name: "In app" })).toHaveLength(2);
    expect(screen.getAllByRole("switch", { name: "Email" })).toHaveLength(2);
    expect(inApp(dispatched)).toBeEnabled();
    expect(inApp(cancelled)).toBeDisabled();
    expect(cancelled).toHaveTextContent("Always shown in the app");
  });
});
