import { create } from "zustand";
import { setToken } from "../lib/api";
import type { User } from "../lib/types";

const KEY = "partpulse.session";

/**
 * Why the server ended a session (the sign-in page says so): the account was deactivated, the
 * token expired, or the token was refused without saying which of the two.
 */
export type SessionEnd = "deactivated" | "expired" | "revoked";

interface AuthState {
  token: string | null;
  user: User | null;
  /** Set when the server ended the session (not when the person signed out); cleared by signing in. */
  ended: SessionEnd | null;
  signIn: (token: string, user: User) => void;
  signOut: (ended?: SessionEnd) => void;
}

function restore(): { token: string | null; user: User | null } {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? "null");
    if (saved?.token) {
      setToken(saved.token);
      return saved;
    }
  } catch {
    /* a corrupt entry is the same as none */
  }
  return { token: null, user: null };
}

export const useAuth = create<AuthState>((set) => ({
  ...restore(),
  ended: null,
  signIn: (token, user) => {
    setToken(token);
    localStorage.setItem(KEY, JSON.stringify({ token, user }));
    set({ token, user, ended: null });
  },
  signOut: (ended) => {
    setToken(null);
    localStorage.removeItem(KEY);
    set({ token: null, user: null, ended: ended ?? null });
  },
}));

/** The reason a socket's `session_expired` message or refusal gives, as a SessionEnd. */
export function sessionEndFrom(message: string | undefined): SessionEnd {
  if (message && /deactivated/i.test(message)) return "deactivated";
  if (message && /session has expired/i.test(message)) return "expired";
  return "revoked";
}
