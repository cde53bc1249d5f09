import { useEffect, useState } from "react";
import { io, type Socket } from "socket.io-client";
import { useAuth } from "../stores/auth";

// One connection per tab, shared by every component; replaced when the token changes.
let shared: { token: string; socket: Socket; users: number } | null = null;

function acquire(token: string): Socket {
  if (shared && shared.token !== token) {
    shared.socket.disconnect();
    shared = null;
  }
  if (!shared) {
    const socket = io(window.location.origin, {
      path: "/ws",
      auth: { token },
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 10_000,
    });
    socket.on("session_expired", () => useAuth.getState().signOut());
    socket.on("connect_error", (err) => {
      if (/expired|invalid|authenticated/i.test(err.message)) useAuth.getState().signOut();
    });
    shared = { token, socket, users: 0 };
  }
  shared.users += 1;
  return shared.socket;
}

function release(socket: Socket): void {
  if (shared?.socket !== socket) return;
  shared.users -= 1;
  if (shared.users === 0) {
    socket.disconnect();
    shared = null;
  }
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
