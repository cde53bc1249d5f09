import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { badgeText } from "../lib/format";
import type { NotificationPush, SystemEvent } from "../lib/types";
import { useNotificationStore } from "../stores/notifications";
import { addToFeed, FeedList } from "./LiveActivityFeed";
import { NotificationBell } from "./NotificationBell";
import { StatusSteps } from "./OrderStatusTracker";

const push = (id: number, extra: Partial<NotificationPush> = {}): NotificationPush => ({
  id, event_type: "ORDER_DISPATCHED", title: `Title ${id}`, message: "Your order is on its way",
  metadata: { order_id: 7 }, link: "/orders/7", is_read: false, timestamp: new Date().toISOString(), ...extra,
});

afterEach(() => {
  useNotificationStore.getState().reset();
  vi.restoreAllMocks();
});

describe("notification store", () => {
  it("adds a pushed notification once, newest first", () => {
    const store = useNotificationStore.getState();
    expect(store.receive(push(1))).toBe(true);
    expect(useNotificationStore.getState().receive(push(1))).toBe(false);
    useNotificationStore.getState().receive(push(2));
    expect(useNotificationStore.getState().notifications.map((n) => n.id)).toEqual([2, 1]);
  });

  it("rolls back an optimistic read when the server says no", async () => {
    useNotificationStore.getState().receive(push(5));
    useNotificationStore.getState().setUnreadCount(1);
    vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response(JSON.stringify({ detail: "Notification 5 not found" }), { status: 404 }));
    await useNotificationStore.getState().markAsRead(5);
    const state = useNotificationStore.getState();
    expect(state.unreadCount).toBe(1);
    expect(state.notifications[0].is_read).toBe(false);
    expect(state.error).toBe("Notification 5 not found");
  });

  it("marks all read optimistically", async () => {
    useNotificationStore.getState().receive(push(1));
    useNotificationStore.getState().setUnreadCount(1);
    vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response(JSON.stringify({ updated: 1 }), { status: 200 }));
    await useNotificationStore.getState().markAllRead();
    expect(useNotificationStore.getState().unreadCount).toBe(0);
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
    useNotificationStore.getState().setUnreadCount(3);
    renderBell();
    expect(screen.getByRole("button", { name: "Notifications, 3 unread" })).toBeInTheDocument();
    expect(screen.getByTestId("bell-badge")).toHaveTextContent("3");
  });

  it("opens a panel, and a click marks read and navigates", async () => {
    useNotificationStore.getState().receive(push(9));
    useNotificationStore.getState().setUnreadCount(1);
    vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response(JSON.stringify({}), { status: 200 }));
    renderBell();
    fireEvent.click(screen.getByRole("button", { name: /^Notifications/ }));
    const dialog = screen.getByRole("dialog", { name: "Notifications" });
    expect(dialog).toHaveTextContent("Title 9");
    expect(screen.getByRole("button", { name: "Mark all read" })).toBeEnabled();
    fireEvent.click(screen.getByRole("button", { name: /Title 9/ }));
    await waitFor(() => expect(screen.getByText("order page")).toBeInTheDocument());
    expect(useNotificationStore.getState().unreadCount).toBe(0);
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

describe("OrderStatusTracker steps", () => {
  it("lights the reached steps and marks the current one", () => {
    render(<StatusSteps status="DISPATCHED" />);
    const steps = screen.getByRole("list", { name: "Order status" }).querySelectorAll("li");
    expect([...steps].map((s) => s.getAttribute("data-reached"))).toEqual(["true", "true", "true", "true", "false", "false"]);
    expect(steps[3]).toHaveAttribute("aria-current", "step");
  });

  it("says when an order is cancelled", () => {
    render(<StatusSteps status="CANCELLED" />);
    expect(screen.getByText("This order was cancelled.")).toBeInTheDocument();
  });
});

describe("LiveActivityFeed", () => {
  const event = (id: number): SystemEvent => ({
    event_id: id, event_type: "ORDER_PLACED", title: "New Order", message: `message ${id}`,
    metadata: {}, entity_type: "order", entity_id: 1, timestamp: new Date().toISOString(),
  });

  it("keeps newest first, no duplicates, bounded", () => {
    let feed: SystemEvent[] = [];
    for (let i = 1; i <= 5; i++) feed = addToFeed(feed, event(i), 3);
    feed = addToFeed(feed, event(5), 3);
    expect(feed.map((e) => e.event_id)).toEqual([5, 4, 3]);
    render(<FeedList events={feed} />);
    expect(screen.getByRole("region", { name: "Live activity" })).toHaveTextContent("message 5");
  });
});
