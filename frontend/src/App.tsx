import { useEffect } from "react";
import { Toaster } from "react-hot-toast";
import { BrowserRouter, Link, Navigate, Outlet, Route, Routes, useNavigate } from "react-router-dom";
import { NotificationBell } from "./components/NotificationBell";
import { useNotificationFeed } from "./hooks/useNotifications";
import { setUnauthorizedHandler } from "./lib/api";
import { AdminPage } from "./pages/Admin";
import { LoginPage } from "./pages/Login";
import { NotificationsPage } from "./pages/Notifications";
import { OrderDetailPage } from "./pages/OrderDetail";
import { OrdersPage } from "./pages/Orders";
import { useAuth } from "./stores/auth";
import { useNotificationStore } from "./stores/notifications";

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
  return (
    <>
      <header className="topbar">
        <Link to={user.role === "admin" ? "/admin" : "/orders"} className="brand">PartPulse</Link>
        <nav aria-label="Main">
          <Link to="/orders">Orders</Link>
          <Link to="/notifications">Notifications</Link>
          {user.role === "admin" && <Link to="/admin">Admin</Link>}
        </nav>
        <NotificationBell />
        <span className="who">{user.full_name} ({user.role})</span>
        <button type="button" onClick={logout}>Sign out</button>
      </header>
      <Outlet />
    </>
  );
}

function Home() {
  const user = useAuth((s) => s.user);
  if (!user) return <Navigate to="/login" replace />;
  return <Navigate to={user.role === "admin" ? "/admin" : "/orders"} replace />;
}

export function App() {
  return (
    <BrowserRouter>
      <Toaster position="top-right" toastOptions={{ duration: 5000 }} />
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route element={<SignedInLayout />}>
          <Route path="/orders" element={<OrdersPage />} />
          <Route path="/orders/:id" element={<OrderDetailPage />} />
          <Route path="/notifications" element={<NotificationsPage />} />
          <Route path="/admin" element={<AdminPage />} />
        </Route>
        <Route path="*" element={<Home />} />
      </Routes>
    </BrowserRouter>
  );
}
