import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import i18n, { applyUserSettings, browserLocale, LOCALE_OVERRIDE_KEY, resetUserSettings, ZONE_CHANGED } from ".";
import { NotificationBell } from "../components/NotificationBell";
import { OrderStatusTracker } from "../components/OrderStatusTracker";
import { dateTime, money, timeAgo } from "../lib/format";
import { LoginPage } from "../pages/Login";
import { SettingsPage } from "../pages/Settings";

afterEach(() => {
  localStorage.removeItem(LOCALE_OVERRIDE_KEY);
  act(() => resetUserSettings());
  vi.restoreAllMocks();
});

describe("language and time zone", () => {
  it("follows the user's locale preference; null falls back to the browser's language", () => {
    act(() => applyUserSettings("de", null));
    expect(i18n.language).toBe("de");
    act(() => applyUserSettings(null, null));
    expect(i18n.language).toBe(browserLocale());
    act(() => applyUserSettings("fr", null)); // not one of ours: the browser's
    expect(i18n.language).toBe("en");
  });

  it("a new zone alone (same language) says so, so the inbox's server-rendered times are fetched again", () => {
    const seen: unknown[] = [];
    const listener = (zone: unknown) => seen.push(zone);
    i18n.on(ZONE_CHANGED, listener);
    try {
      act(() => applyUserSettings("de", "Europe/Berlin"));
      act(() => applyUserSettings("de", "America/Chicago"));
      act(() => applyUserSettings("de", "America/Chicago")); // unchanged: nothing
      expect(seen).toEqual(["America/Chicago"]);
    } finally {
      i18n.off(ZONE_CHANGED, listener);
    }
  });

  it("before sign-in, a forced locale or the browser's language decides", () => {
    localStorage.setItem(LOCALE_OVERRIDE_KEY, "de");
    expect(browserLocale()).toBe("de");
  });

  it("shows the same ETA in Berlin and in Chicago, each in its language's format", () => {
    const eta = "2026-11-26T13:30:00Z";
    act(() => applyUserSettings("de", "Europe/Berlin"));
    expect(dateTime(eta)).toMatch(/26\.11\.2026.*14:30/);
    act(() => applyUserSettings("en", "America/Chicago"));
    expect(dateTime(eta)).toMatch(/Nov 26, 2026.*7:30\s?AM/);
  });

  it("relative times and numbers in German", () => {
    act(() => applyUserSettings("de", null));
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(timeAgo("2026-01-01T11:59:50Z", now)).toBe("gerade eben");
    expect(timeAgo("2026-01-01T11:55:00Z", now)).toBe("vor 5 Minuten");
    expect(timeAgo("2026-01-01T09:00:00Z", now)).toBe("vor 3 Stunden");
    expect(money("1234.5")).toBe("1.234,50");
  });

  it("visible text is German while the accessible names of CONTRACT §7 stay English", () => {
    act(() => applyUserSettings("de", null));
    render(<MemoryRouter><NotificationBell /></MemoryRouter>);
    fireEvent.click(screen.getByRole("button", { name: /^Notifications/ }));
    expect(screen.getByRole("dialog", { name: "Notifications" })).toHaveTextContent("Benachrichtigungen");
    expect(screen.getByRole("button", { name: "Mark all read" })).toHaveTextContent("Alle als gelesen markieren");
  });

  it("the sign-in page in German keeps Email, Password and Sign in as names", () => {
    act(() => applyUserSettings("de", null));
    render(<MemoryRouter><LoginPage /></MemoryRouter>);
    expect(screen.getByLabelText("Email")).toBeInTheDocument();
    expect(screen.getByLabelText("Password")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Sign in" })).toHaveTextContent("Anmelden");
  });

  it("switching the language re-renders what is shown", () => {
    render(<OrderStatusTracker status="DISPATCHED" />);
    expect(screen.getByRole("list", { name: "Order status" })).toHaveTextContent("Dispatched");
    act(() => applyUserSettings("de", null));
    expect(screen.getByRole("list", { name: "Order status" })).toHaveTextContent("Versendet");
  });
});

describe("the language setting", () => {
  it("a server that refuses the field (422) keeps the choice in this browser", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation((_input, init) => Promise.resolve(init?.method === "PUT"
      ? new Response(JSON.stringify({ detail: [{ loc: ["body", "locale"], msg: "Extra inputs are not permitted" }] }), { status: 422 })
      : new Response(JSON.stringify({ event_types: {} }))));
    render(<SettingsPage />);
    fireEvent.change(await screen.findByLabelText("Language"), { target: { value: "de" } });
    await waitFor(() => expect(i18n.language).toBe("de"));
    expect(localStorage.getItem(LOCALE_OVERRIDE_KEY)).toBe("de");
    expect(await screen.findByText(/In diesem Browser gespeichert/)).toBeInTheDocument();
  });

  it("PUTs the locale and switches the app at once", async () => {
    const bodies: unknown[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation((_input, init) => {
      if (init?.method === "PUT") {
        bodies.push(JSON.parse(String(init.body)));
        return Promise.resolve(new Response(JSON.stringify({ event_types: {}, locale: "de", timezone: null })));
      }
      return Promise.resolve(new Response(JSON.stringify({ event_types: {}, locale: null, timezone: null })));
    });
    render(<SettingsPage />);
    fireEvent.change(await screen.findByLabelText("Language"), { target: { value: "de" } });
    await waitFor(() => expect(i18n.language).toBe("de"));
    expect(bodies).toEqual([{ locale: "de" }]);
    expect(await screen.findByRole("heading", { level: 1 })).toHaveTextContent("Einstellungen");
  });
});
