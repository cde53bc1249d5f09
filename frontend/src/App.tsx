import { LogOut } from "lucide-react";
import { useEffect, useState } from "react";
import { Toaster } from "react-hot-toast";
import { useTranslation } from "react-i18next";
import { BrowserRouter, Link, Navigate, NavLink, Outlet, Route, Routes, useNavigate } from "react-router-dom";
import { LiveStatus } from "./components/LiveStatus";
import { NotificationBell } from "./components/NotificationBell";
import { useNotificationFeed } from "./hooks/useNotifications";
import { applyUserSettings, resetUserSettings } from "./i18n";
import { api, setUnauthorizedHandler } from "./lib/api";
import { endSession } from "./lib/session";
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
  const { t } = useTranslation();
  useNotificationFeed();
  // The user's language and time zone (CONTRACT §8); the browser's until they arrive, and again once signed out.
  useEffect(() => {
    if (!token) return;
    api.preferences().then((p) => applyUserSettings(p.locale, p.timezone), () => {});
    return resetUserSettings;
  }, [token]);
  useEffect(() => {
    // A 401 on a signed-in request: the token was revoked or expired.
    setUnauthorizedHandler(() => endSession());
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
      <a className="skip" href="#main">{t("layout.skip")}</a>
      <header className="topbar">
        <Link to={home} className="brand">PartPulse</Link>
        <nav aria-label={t("layout.mainNav")} className="main-nav">
          <NavLink to="/orders">{t("layout.orders")}</NavLink>
          {user.role !== "buyer" && <NavLink to="/inventory">{t("layout.inventory")}</NavLink>}
          <NavLink to="/notifications">{t("layout.notifications")}</NavLink>
          {user.role === "admin" && <NavLink to="/admin">{t("layout.admin")}</NavLink>}
          <NavLink to="/settings">{t("layout.settings")}</NavLink>
        </nav>
        <div className="topbar-controls">
          <NotificationBell />
          <span className="who" title={user.email}>
            {user.full_name} <span className="role">{t(`layout.roles.${user.role}`)}</span>
          </span>
          <button type="button" className="signout" onClick={logout}>
            <LogOut size={16} aria-hidden="true" /> {t("layout.signOut")}
          </button>
        </div>
      </header>
      <LiveStatus />
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
