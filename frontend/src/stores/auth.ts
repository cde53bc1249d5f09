import { create } from "zustand";
import { setToken } from "../lib/api";
import type { User } from "../lib/types";

const KEY = "partpulse.session";

interface AuthState {
  token: string | null;
  user: User | null;
  signIn: (token: string, user: User) => void;
  signOut: () => void;
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
  signIn: (token, user) => {
    setToken(token);
    localStorage.setItem(KEY, JSON.stringify({ token, user }));
    set({ token, user });
  },
  signOut: () => {
    setToken(null);
    localStorage.removeItem(KEY);
    set({ token: null, user: null });
  },
}));
