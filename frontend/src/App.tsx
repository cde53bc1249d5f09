import { LogOut } from "lucide-react";
import { useEffect, useState } from "react";
import { Toaster } from "react-hot-toast";
import { BrowserRouter, Link, Navigate, NavLink, Outlet, Route, Routes, useNavigate } from "react-router-dom";
import { NotificationBell } from "./components/NotificationBell";
import { useNotificationFeed } from "./hooks/useNotifications";
import { setUnauthorizedHandler } from "./lib/api";
import { AdminPage } from "./pages/Admin";
import { InventoryPage } from "./pages/Inventory";
import { InventoryItemPage } from "./pages/InventoryItem";
import { LoginPage } from "./pages/Login";
import { NotificationsPage } from "./pages/Notifications";
import { OrderDetailPage } from "./pages/OrderDetail";
import { OrdersPage } from "./pages/Orders";
import { SettingsPage } from "./pages/Settings";
import { useAuth } from "./stores/auth";
import { useNotificationStore } from "./stores/notifications";

const PHONE = "(max-width: 640px)";

function useMedia(query: string): boolean {
  const [matches, setMatches] = useState(() => window.matchMedia?.(query).matches ?? false);
  useEffect(() => {
    const m = window.matchMedia?.(query);
    if (!m) return;
    const on = () => setMatches(m.matches);
    m.addEventListener("change", on);
    return () => m.removeEventListener("change", on);
  }, [query]);
  return matches;
}

function SignedInLayout() {
  const { token, user, signOut } = useAuth();
  const navigate = useNavigate();
  useNotificationFeed();
  useEffect(() => {
    setUnauthorizedHandler(() => useAuth.getState().signOut());
  }, []);
  if (!token || !user) return <Navigate to="/login" replace />;
  const logout = () => {
    signOut();
    useNotificationStore.getState().reset();
    navigate("/login");
  };
  const home = user.role === "admin" ? "/admin" : "/orders";
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <Link to={home} className="brand">PartPulse</Link>
        <nav aria-label="Main" className="main-nav">
          <NavLink to="/orders">Orders</NavLink>
          {user.role !== "buyer" && <NavLink to="/inventory">Inventory</NavLink>}
          <NavLink to="/notifications">Notifications</NavLink>
          {user.role === "admin" && <NavLink to="/admin">Admin</NavLink>}
          <NavLink to="/settings">Settings</NavLink>
        </nav>
        <div className="topbar-controls">
          <NotificationBell />
          <span className="who" title={user.email}>
            {user.full_name} <span className="role">{user.role}</span>
          </span>
          <button type="button" className="signout" onClick={logout}>
            <LogOut size={16} aria-hidden="true" /> Sign out
          </button>
        </div>
      </header>
      <div id="main" tabIndex={-1}>
        <Outlet />
      </div>
    </>
  );
}

function Home() {
  const user = useAuth((s) => s.user);
  if (!user) return <Navigate to="/login" replace />;
  return <Navigate to={user.role === "admin" ? "/admin" : "/orders"} replace />;
}

export function App() {
  const phone = useMedia(PHONE);
  return (
    <BrowserRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
      {/* Toasts sit at the bottom: never over the top bar's bell, name or Sign out. */}
      <Toaster
        position={phone ? "bottom-center" : "bottom-right"}
        gutter={8}
        containerStyle={{ bottom: 16, left: 16, right: 16 }}
        toastOptions={{ duration: 5000, className: "toast", ariaProps: { role: "status", "aria-live": "polite" } }}
      />
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route element={<SignedInLayout />}>
          <Route path="/orders" element={<OrdersPage />} />
          <Route path="/orders/:id" element={<OrderDetailPage />} />
          <Route path="/inventory" element={<InventoryPage />} />
          <Route path="/inventory/:partId" element={<InventoryItemPage />} />
          <Route path="/notifications" element={<NotificationsPage />} />
          <Route path="/admin" element={<AdminPage />} />
          <Route path="/settings" element={<SettingsPage />} />
        </Route>
        <Route path="*" element={<Home />} />
      </Routes>
    </BrowserRouter>
  );
}
