import { useEffect, useRef, useState } from "react";
import { io, type Socket } from "socket.io-client";
import { create } from "zustand";
import { endSession } from "../lib/session";
import { useAuth } from "../stores/auth";

/** How long a tab refused for holding too many sockets waits before it asks again. */
export const PAUSED_RETRY_MS = 30_000;

/** The server refused this socket because the account holds too many (CONTRACT §8). */
export const TOO_MANY = /too many open connections/i;
/** The server refused the token (missing, invalid, expired, or its user deactivated). */
const REFUSED_TOKEN = /expired|invalid|authenticated|deactivated/i;

/** Whether live updates reach this tab; "too_many" while the server refuses it for too many sockets. */
export const useLiveStatus = create<{ paused: "too_many" | null }>(() => ({ paused: null }));

// One connection per tab, shared by every component; replaced when the token changes.
let shared: { token: string; socket: Socket; users: number; retry: ReturnType<typeof setTimeout> | null } | null = null;

function acquire(token: string): Socket {
  if (shared && shared.token !== token) {
    close(shared);
  }
  if (!shared) {
    const socket = io(window.location.origin, {
      path: "/ws",
      auth: { token },
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 10_000,
    });
    const mine = { token, socket, users: 0, retry: null as ReturnType<typeof setTimeout> | null };
    socket.on("connect", () => useLiveStatus.setState({ paused: null }));
    socket.on("session_expired", (p?: { message?: string }) => endSession(p?.message));
    socket.on("connect_error", (err) => {
      if (TOO_MANY.test(err.message)) {
        // A refusal is final for socket.io (no reconnection of its own): ask again later, when
        // another window may have closed.
        useLiveStatus.setState({ paused: "too_many" });
        if (mine.retry) clearTimeout(mine.retry);
        mine.retry = setTimeout(() => {
          mine.retry = null;
          if (!socket.connected) socket.connect();
        }, PAUSED_RETRY_MS);
      } else if (REFUSED_TOKEN.test(err.message)) {
        endSession(err.message);
      }
    });
    shared = mine;
  }
  shared.users += 1;
  return shared.socket;
}

function close(s: NonNullable<typeof shared>): void {
  if (s.retry) clearTimeout(s.retry);
  s.socket.disconnect();
  useLiveStatus.setState({ paused: null });
  if (shared === s) shared = null;
}

function release(socket: Socket): void {
  if (shared?.socket !== socket) return;
  shared.users -= 1;
  if (shared.users === 0) close(shared);
}

export function useSocket(): Socket | null {
  const token = useAuth((s) => s.token);
  const [socket, setSocket] = useState<Socket | null>(null);
  useEffect(() => {
    if (!token) return;
    const current = acquire(token);
    setSocket(current);
    return () => {
      release(current);
      setSocket(null);
    };
  }, [token]);
  return socket;
}

/** Calls `handler` (its latest version) for every `event` the shared socket receives. */
export function useSocketEvent<T = unknown>(event: string, handler: (payload: T) => void): void {
  const socket = useSocket();
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => {
    if (!socket) return;
    const on = (payload: T) => latest.current(payload);
    socket.on(event, on);
    return () => {
      socket.off(event, on);
    };
  }, [socket, event]);
}
