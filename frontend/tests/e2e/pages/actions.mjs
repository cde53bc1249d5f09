// Acting from a notification (issue 23): confirm from the panel and from a toast, restock in
// place, the inbox tabs with their counts, and the bell's critical colour and name.
import { ART, BASE, assert, assertAccessible, assertInsideWindow, bell, call, check, closePanel, openPanel, whenLive } from "../helpers.mjs";

/** The newest notification of a type the user of `token` has, once the worker wrote it. */
async function newest(token, eventType, after = 0, timeout = 15000) {
  const started = Date.now();
  for (;;) {
    const { items } = await call(token, "GET", "/notifications/?limit=20");
    const found = items.find((n) => n.event_type === eventType && n.id > after);
    if (found) return found;
    if (Date.now() - started > timeout) throw new Error(`no ${eventType} notification after ${after}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function newestId(token) {
  const { items } = await call(token, "GET", "/notifications/?limit=1");
  return items[0]?.id ?? 0;
}

/** An order the worker matches to supplier 1 (part 1 is cheapest there); its supplier's row. */
async function matchedOrder(tokens) {
  const since = await newestId(tokens.supplier);
  const order = await call(tokens.buyer, "POST", "/orders/", { items: [{ part_id: 1, quantity: 1 }] });
  const row = await newest(tokens.supplier, "SUPPLIER_MATCHED", since);
  assert(row.metadata.order_id === order.id, `the newest match is of order ${row.metadata.order_id}, not ${order.id}`);
  return { order, row };
}

async function orderStatus(tokens, id, expected, timeout = 10000) {
  const started = Date.now();
  for (;;) {
    const { status } = await call(tokens.buyer, "GET", `/orders/${id}`);
    if (status === expected) return;
    if (Date.now() - started > timeout) throw new Error(`order ${id} is ${status}, not ${expected}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const confirmFromPanel = check("a supplier confirms from the panel; the entry shows it done", async ({ vp, tokens, supplier }) => {
  await supplier.goto(`${BASE}/orders`);
  await bell(supplier).waitFor();
  const { order, row } = await matchedOrder(tokens);
  const dialog = await openPanel(supplier);
  const entry = dialog.locator(`li[data-notification-id="${row.id}"]`);
  const confirm = entry.getByRole("button", { name: "Confirm", exact: true });
  await confirm.waitFor();
  assert(await confirm.evaluate((el) => el.classList.contains("primary")), "Confirm is not the primary button");
  assert(await entry.getByRole("button", { name: "Decline", exact: true }).evaluate((el) => el.classList.contains("secondary")),
    "Decline is not the quieter button");
  await assertInsideWindow(supplier, dialog, "the panel with actions");
  await assertAccessible(supplier, `the panel with actions (${vp.name})`);
  await supplier.screenshot({ path: `${ART}${vp.name}-panel-actions.png` });
  // Keyboard: focus the button and press Enter.
  await confirm.focus();
  await supplier.keyboard.press("Enter");
  await entry.locator('[data-action="confirm"][data-action-state="done"]').waitFor({ timeout: 10000 });
  assert((await entry.locator('[data-action="confirm"][data-action-state="done"]').innerText()).includes("Sven Supplier"),
    "the done state does not say who");
  await entry.getByRole("button", { name: "Dispatch", exact: true }).waitFor(); // next on the same copy
  await orderStatus(tokens, order.id, "CONFIRMED");
  await closePanel(supplier);
});

export const confirmFromToast = check("a supplier confirms from the toast; a second press elsewhere gets the 409 in place", async ({ tokens, supplier }) => {
  const live = whenLive(supplier);
  await supplier.goto(`${BASE}/orders`);
  await live;
  const { order, row } = await matchedOrder(tokens);
  const toastBody = supplier.getByRole("status").locator(`[data-toast-for="${row.id}"]`);
  await toastBody.getByRole("button", { name: "Confirm", exact: true }).click();
  await toastBody.locator('[data-action="confirm"][data-action-state="done"]').waitFor({ timeout: 10000 });
  await orderStatus(tokens, order.id, "CONFIRMED");
  // Another order, confirmed over REST meanwhile: the toast's Confirm is refused, the reason shown in place.
  const second = await matchedOrder(tokens);
  const other = supplier.getByRole("status").locator(`[data-toast-for="${second.row.id}"]`);
  await other.getByRole("button", { name: "Confirm", exact: true }).waitFor();
  await call(tokens.supplier, "POST", `/orders/${second.order.id}/transitions`, { status: "CONFIRMED" });
  // The worker's notification_updated may beat the click: then the action already says done.
  const button = other.getByRole("button", { name: "Confirm", exact: true });
  if (await button.isVisible().catch(() => false)) await button.click({ timeout: 2000 }).catch(() => {});
  await other.locator('[data-action="confirm"][data-action-state="done"]').waitFor({ timeout: 10000 });
  for (const id of [row.id, second.row.id]) await supplier.getByRole("button", { name: /^Dismiss: / }).first().click().catch(() => {});
});

export const restockInPlace = check("a supplier restocks in place from the low-stock alert", async ({ vp, tokens, supplier }) => {
  const part = 7;
  const [stock] = (await call(tokens.supplier, "GET", `/inventory/?part_id=${part}`)).items;
  const row = { quantity: 90, low_stock_threshold: 12, unit_price: stock.unit_price, lead_time_days: stock.lead_time_days };
  await call(tokens.supplier, "PUT", `/inventory/${part}`, row);
  const since = await newestId(tokens.supplier);
  await call(tokens.supplier, "PUT", `/inventory/${part}`, { ...row, quantity: 5 });
  const alert = await newest(tokens.supplier, "LOW_STOCK_ALERT", since);
  assert(alert.category === "stock", `category ${alert.category}`);
  await supplier.goto(`${BASE}/notifications`);
  await supplier.getByRole("tab", { name: /^Stock/ }).click();
  const entry = supplier.locator(`li[data-notification-id="${alert.id}"]`);
  await entry.getByRole("button", { name: "Restock", exact: true }).click();
  const field = entry.getByRole("spinbutton", { name: "Units to add" });
  await field.waitFor();
  await field.fill("0");
  await field.press("Enter");
  await entry.getByRole("alert").waitFor(); // 1 to 1,000,000, said in place
  await field.fill("50");
  await assertAccessible(supplier, `restock in place (${vp.name})`);
  await entry.getByRole("button", { name: "Send: Restock" }).click();
  await entry.locator('[data-action="restock"][data-action-state="done"]').waitFor({ timeout: 10000 });
  const [after] = (await call(tokens.supplier, "GET", `/inventory/?part_id=${part}`)).items;
  assert(after.quantity === 55, `stock is ${after.quantity}, not 55`);
});

export const tabsWithCounts = check("the panel's tabs show per-tab unread counts; arrow keys move between them", async ({ vp, tokens, supplier }) => {
  await supplier.goto(`${BASE}/orders`);
  const count = await call(tokens.supplier, "GET", "/notifications/unread-count");
  const dialog = await openPanel(supplier);
  const tablist = dialog.getByRole("tablist");
  await tablist.waitFor();
  for (const [name, n] of [["Orders", count.by_category.orders], ["Stock", count.by_category.stock], ["System", count.by_category.system]]) {
    const expected = n > 0 ? `${name}, ${n} unread` : name;
    await dialog.getByRole("tab", { name: expected, exact: true }).waitFor({ timeout: 5000 });
  }
  const all = dialog.getByRole("tab", { name: /^All/ });
  await all.focus();
  await supplier.keyboard.press("ArrowRight");
  const orders = dialog.getByRole("tab", { name: /^Orders/ });
  assert(await orders.evaluate((el) => el.getAttribute("aria-selected") === "true" && el === document.activeElement),
    "ArrowRight did not select and focus Orders");
  await supplier.keyboard.press("ArrowRight");
  const stock = dialog.getByRole("tab", { name: /^Stock/ });
  assert(await stock.getAttribute("aria-selected") === "true", "ArrowRight did not move on to Stock");
  const rows = await dialog.locator("li.note").evaluateAll((els) => els.length);
  assert(rows > 0, "the Stock tab lists nothing");
  await assertAccessible(supplier, `the panel's tabs (${vp.name})`);
  await supplier.screenshot({ path: `${ART}${vp.name}-panel-tabs.png` });
  await supplier.keyboard.press("Home");
  await closePanel(supplier);
});

export const criticalBell = check("a critical notification colours the bell, names it, stays on top and its toast stays", async ({ vp, tokens, buyer, orderId }) => {
  const live = whenLive(buyer);
  await buyer.goto(`${BASE}/orders`);
  await live;
  const since = await newestId(tokens.buyer);
  await call(tokens.admin, "POST", "/events/", { event_type: "MATCHING_FAILED", entity_type: "order", entity_id: orderId });
  const row = await newest(tokens.buyer, "MATCHING_FAILED", since);
  assert(row.severity === "critical", `severity ${row.severity}`);
  const { count, by_severity: sev } = await call(tokens.buyer, "GET", "/notifications/unread-count");
  await buyer.getByRole("button", { name: `Notifications, ${count} unread, ${sev.critical} critical`, exact: true }).waitFor({ timeout: 10000 });
  assert(await bell(buyer).getAttribute("data-severity") === "critical", "the bell is not coloured critical");
  const colour = await bell(buyer).evaluate((el) => getComputedStyle(el).color);
  assert(colour === "rgb(252, 165, 165)", `the bell's colour is ${colour}`);
  const toastBody = buyer.getByRole("status").locator(`[data-toast-for="${row.id}"]`);
  await toastBody.waitFor().catch(async (e) => {
    await buyer.screenshot({ path: `${ART}${vp.name}-critical-toast-missing.png` });
    throw e;
  });
  await buyer.waitForTimeout(4500); // past a normal toast's 4 s
  assert(await toastBody.isVisible(), "the critical toast went away by itself");
  const dialog = await openPanel(buyer);
  const top = dialog.getByRole("list", { name: "Critical, until read" });
  await top.locator(`li[data-notification-id="${row.id}"]`).waitFor();
  await assertAccessible(buyer, `the critical panel (${vp.name})`);
  await buyer.screenshot({ path: `${ART}${vp.name}-panel-critical.png` });
  await top.getByRole("button", { name: `Mark read: ${row.title}` }).click();
  await top.waitFor({ state: "detached", timeout: 10000 });
  await closePanel(buyer);
  await buyer.getByRole("button", { name: `Dismiss: ${row.title}` }).click();
  await toastBody.waitFor({ state: "detached", timeout: 5000 });
});
