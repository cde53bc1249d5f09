import { sessionEndFrom, useAuth } from "../stores/auth";
import { useNotificationStore } from "../stores/notifications";

/**
 * The server ended this session (a refused token on REST or on the socket, or its
 * `session_expired` message): leave it, and let the sign-in page say why.
 */
export function endSession(message?: string): void {
  useNotificationStore.getState().reset();
  useAuth.getState().signOut(sessionEndFrom(message));
}
