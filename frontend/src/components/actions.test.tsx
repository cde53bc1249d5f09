import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { NotificationAction, NotificationPush } from "../lib/types";
import { useNotificationStore } from "../stores/notifications";
import { CategoryTabs } from "./CategoryTabs";
import { NotificationActions } from "./NotificationActions";
import { bellName, NotificationBell, splitCritical, topSeverity } from "./NotificationBell";

const store = () => useNotificationStore.getState();
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
const action = (id: string, label: string, state: NotificationAction["state"] = "open", kind: NotificationAction["kind"] = "primary"): NotificationAction =>
  ({ id, label, kind, state, done_by: state === "done" ? "Sven Supplier" : null, done_at: state === "done" ? "2030-01-01T10:02:00+00:00" : null });
const push = (id: number, extra: Partial<NotificationPush> = {}): NotificationPush => ({
  id, event_type: "SUPPLIER_MATCHED", title: `Title ${id}`, message: "m", metadata: { order_id: 7 }, link: "/orders/7",
  is_read: false, timestamp: new Date().toISOString(), category: "orders", severity: "normal",
  actions: [action("confirm", "Confirm"), action("decline", "Decline", "open", "secondary")], ...extra,
});

afterEach(() => {
  store().reset();
  vi.restoreAllMocks();
});

describe("actions on a notification", () => {
  it("shows open actions as buttons named by their label, primary and secondary", () => {
    store().receive(push(1));
    render(<NotificationActions n={store().notifications[0]} />);
    expect(screen.getByRole("button", { name: "Confirm" }).className).toContain("primary");
    expect(screen.getByRole("button", { name: "Decline" }).className).toContain("secondary");
  });

  it("a press sends the action with an Idempotency-Key and shows the answer's states", async () => {
    store().receive(push(2));
    const fetch = vi.spyOn(globalThis, "fetch").mockResolvedValue(json({ ...push(2), actions: [action("confirm", "Confirm", "done"), action("decline", "Decline", "unavailable")] }));
    const { rerender } = render(<NotificationActions n={store().notifications[0]} />);
    fireEvent.click(screen.getByRole("button", { name: "Confirm" }));
    await waitFor(() => expect(store().notifications[0].actions?.[0].state).toBe("done"));
    const [url, init] = fetch.mock.calls[0];
    expect(String(url)).toBe("/api/notifications/2/actions/confirm");
    expect((init?.headers as Record<string, string>)["Idempotency-Key"]).toMatch(/^2-confirm-/);
    rerender(<NotificationActions n={store().notifications[0]} />);
    expect(screen.getByText(/Confirm: done by Sven Supplier/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Confirm" })).toBeNull();
  });

  it("a 409 shows its reason in place", async () => {
    store().receive(push(3));
    vi.spyOn(globalThis, "fetch").mockImplementation((input) => Promise.resolve(String(input).includes("/actions/")
      ? json({ detail: "Confirm is done by Carl Colleague", state: "CONFIRMED" }, 409)
      : json({ items: [], total: 0, limit: 20, offset: 0 })));
    render(<NotificationActions n={store().notifications[0]} />);
    fireEvent.click(screen.getByRole("button", { name: "Confirm" }));
    expect((await screen.findByRole("alert")).textContent).toContain("Confirm is done by Carl Colleague");
  });

  it("restock asks for a quantity in place and refuses one out of range before sending", async () => {
    store().receive(push(4, { event_type: "LOW_STOCK_ALERT", category: "stock", actions: [action("restock", "Restock")] }));
    const fetch = vi.spyOn(globalThis, "fetch").mockResolvedValue(json({ ...push(4), actions: [action("restock", "Restock", "done")] }));
    render(<NotificationActions n={store().notifications[0]} />);
    fireEvent.click(screen.getByRole("button", { name: "Restock" }));
    const field = screen.getByRole("spinbutton", { name: "Units to add" });
    fireEvent.change(field, { target: { value: "0" } });
    fireEvent.submit(field.closest("form")!);
    expect(screen.getByRole("alert").textContent).toContain("1 to 1,000,000");
    expect(fetch).not.toHaveBeenCalled();
    fireEvent.change(field, { target: { value: "25" } });
    fireEvent.click(screen.getByRole("button", { name: "Send: Restock" }));
    await waitFor(() => expect(fetch).toHaveBeenCalled());
    expect(JSON.parse(String(fetch.mock.calls[0][1]?.body))).toEqual({ quantity: 25 });
  });

  it("notification_updated {id, actions} changes the entry's actions live", () => {
    store().receive(push(5));
    store().applyUpdate({ id: 5, actions: [action("confirm", "Confirm", "done"), action("decline", "Decline", "unavailable")] });
    expect(store().notifications[0].actions?.map((a) => a.state)).toEqual(["done", "unavailable"]);
  });
});

describe("tabs, severity and the bell", () => {
  it("tabs are a tablist named with their unread counts; arrow keys move", () => {
    const change = vi.fn();
    render(<CategoryTabs value="all" onChange={change} counts={{ orders: 3, stock: 0, system: 1 }} total={4} />);
    expect(screen.getByRole("tablist")).toBeTruthy();
    expect(screen.getByRole("tab", { name: "Orders, 3 unread" })).toBeTruthy();
    expect(screen.getByRole("tab", { name: "Stock" })).toBeTruthy();
    fireEvent.keyDown(screen.getByRole("tab", { name: "All, 4 unread" }), { key: "ArrowRight" });
    expect(change).toHaveBeenLastCalledWith("orders");
    fireEvent.keyDown(screen.getByRole("tab", { name: "All, 4 unread" }), { key: "ArrowLeft" });
    expect(change).toHaveBeenLastCalledWith("system");
    fireEvent.keyDown(screen.getByRole("tab", { name: "All, 4 unread" }), { key: "End" });
    expect(change).toHaveBeenLastCalledWith("system");
  });

  it("the bell's name and colour follow the most severe unread", () => {
    expect(bellName(3, 1)).toBe("Notifications, 3 unread, 1 critical");
    expect(bellName(3, 0)).toBe("Notifications, 3 unread");
    expect(topSeverity({ critical: 0, high: 2, normal: 1, low: 0 })).toBe("high");
    expect(topSeverity({ critical: 1, high: 2, normal: 1, low: 0 })).toBe("critical");
    expect(topSeverity({ critical: 0, high: 0, normal: 1, low: 3 })).toBeNull();
    store().setUnreadCount({ count: 3, version: 1, by_category: { orders: 2, stock: 0, system: 1 }, by_severity: { critical: 1, high: 0, normal: 2, low: 0 } });
    vi.spyOn(globalThis, "fetch").mockResolvedValue(json({ items: [], total: 0, limit: 20, offset: 0 }));
    render(<MemoryRouter><NotificationBell /></MemoryRouter>);
    const button = screen.getByRole("button", { name: "Notifications, 3 unread, 1 critical" });
    expect(button.getAttribute("data-severity")).toBe("critical");
  });

  it("critical unread rows come first in a tab, until read", () => {
    for (const [id, severity, is_read] of [[1, "critical", false], [2, "normal", false], [3, "critical", true]] as const) {
      store().receive(push(id, { severity, is_read }));
    }
    const [top, rest] = splitCritical(store().notifications, "all");
    expect(top.map((n) => n.id)).toEqual([1]);
    expect(rest.map((n) => n.id)).toEqual([3, 2]);
    expect(splitCritical(store().notifications, "stock")).toEqual([[], []]);
  });
});
