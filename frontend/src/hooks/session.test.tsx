import { act, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { useAuth } from "../stores/auth";
import { PAUSED_RETRY_MS } from "./useSocket";

// A socket.io client that the test drives: what the server would send, it emits.
const sockets = vi.hoisted(() => [] as FakeSocket[]);
interface FakeSocket {
  connected: boolean;
  connect: ReturnType<typeof vi.fn>;
  disconnect: ReturnType<typeof vi.fn>;
  on: (event: string, fn: (...args: unknown[]) => void) => FakeSocket;
  off: (event: string, fn: (...args: unknown[]) => void) => FakeSocket;
  fire: (event: string, ...args: unknown[]) => void;
}
vi.mock("socket.io-client", () => ({
  io: () => {
    const handlers = new Map<string, Set<(...args: unknown[]) => void>>();
    const socket: FakeSocket = {
      connected: false,
      connect: vi.fn(),
      disconnect: vi.fn(),
      on(event, fn) { if (!handlers.has(event)) handlers.set(event, new Set()); handlers.get(event)!.add(fn); return socket; },
      off(event, fn) { handlers.get(event)?.delete(fn); return socket; },
      fire(event, ...args) { [...(handlers.get(event) ?? [])].forEach((fn) => fn(...args)); },
    };
    sockets.push(socket);
    return socket;
  },
}));

const USER = { id: 2, email: "buyer@demo.test", full_name: "Bea Buyer", role: "buyer" as const, factory_id: 1, supplier_id: null };
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
const latest = () => sockets[sockets.length - 1];

function signedInAt(path: string, answer: (url: string) => Response = () => json({ items: [], total: 0, limit: 20, offset: 0, count: 0 })) {
  vi.spyOn(globalThis, "fetch").mockImplementation((input) => Promise.resolve(answer(String(input))));
  useAuth.getState().signIn("token-1", USER);
  window.history.pushState({}, "", path);
  render(<App />);
}

beforeEach(() => {
  sockets.length = 0;
});
afterEach(() => {
  act(() => useAuth.getState().signOut());
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("live updates refused for too many windows", () => {
  it("says so in a status region under the top bar, asks again later, and clears once connected", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    signedInAt("/orders");
    await waitFor(() => expect(latest()).toBeDefined());
    act(() => latest().fire("connect_error", new Error("Too many open connections for this account (20)")));
    const text = await screen.findByText("Live updates paused: too many open windows");
    expect(text.closest('[role="status"]')).not.toBeNull();
    expect(text.closest("header")).toBeNull();
    expect(useAuth.getState().token).toBe("token-1"); // still signed in
    act(() => { vi.advanceTimersByTime(PAUSED_RETRY_MS); });
    expect(latest().connect).toHaveBeenCalled();
    act(() => latest().fire("connect"));
    expect(screen.queryByText("Live updates paused: too many open windows")).toBeNull();
  });

  it("matches any number in the refusal", async () => {
    signedInAt("/orders");
    await waitFor(() => expect(latest()).toBeDefined());
    act(() => latest().fire("connect_error", new Error("Too many open connections for this account (5)")));
    await screen.findByText("Live updates paused: too many open windows");
  });
});

describe("a revoked or expired token", () => {
  it("a refused token on the socket returns to /login with the reason", async () => {
    signedInAt("/orders");
    await waitFor(() => expect(latest()).toBeDefined());
    act(() => latest().fire("connect_error", new Error("Invalid or expired token")));
    await screen.findByText(/Your session ended: signed out because the account was deactivated or the token expired/);
    expect(window.location.pathname).toBe("/login");
    expect(screen.getByLabelText("Email")).toBeInTheDocument();
    expect(useAuth.getState().token).toBeNull();
  });

  it("the server's session_expired for a deactivated account says that", async () => {
    signedInAt("/notifications");
    await waitFor(() => expect(latest()).toBeDefined());
    act(() => latest().fire("session_expired", { message: "Your account has been deactivated" }));
    await screen.findByText("Your session ended: your account was deactivated. Please sign in again.");
    expect(window.location.pathname).toBe("/login");
  });

  it("a 401 from REST returns to /login with the reason", async () => {
    signedInAt("/orders", (url) => (url.includes("/orders") ? json({ detail: "Invalid or expired token" }, 401)
      : json({ items: [], total: 0, limit: 20, offset: 0, count: 0 })));
    await screen.findByText(/Your session ended: signed out because/);
    expect(window.location.pathname).toBe("/login");
  });

  it("signing out by hand shows no reason", async () => {
    signedInAt("/orders");
    (await screen.findByRole("button", { name: "Sign out" })).click();
    await screen.findByLabelText("Email");
    expect(screen.queryByText(/Your session ended/)).toBeNull();
  });
});
