// The NotificationBell, its panel and toasts, across a user's tabs.
import { ART, BASE, assert, assertAccessible, assertInsideWindow, assertToastsClearOfTopBar, bell, call, check, closePanel, openPanel, timeBadge, timings, unread, waitUnread } from "../helpers.mjs";

export const orderLightsBells = check("an order placed through the API lights up both bells; toasts clear the top bar", async (ctx) => {
  const { vp, tokens, buyer, supplier, buyerTab2 } = ctx;
  const before = { buyer: await unread(buyer), supplier: await unread(supplier) };
  const place = async () => {
    ctx.orderId = (await call(tokens.buyer, "POST", "/orders/", { items: [{ part_id: 3, quantity: 2 }, { part_id: 1, quantity: 1 }] })).id;
  };
  if (vp.name === "laptop") timings.push(["order placed (matched by the worker)", await timeBadge(buyer, before.buyer + 1, place)]);
  else await place();
  await waitUnread(buyer, before.buyer + 1);
  await waitUnread(supplier, before.supplier + 1);
  await waitUnread(buyerTab2, before.buyer + 1);
  await buyer.getByRole("status").filter({ hasText: "Supplier Matched" }).first().waitFor();
  await supplier.getByRole("status").filter({ hasText: "Supplier Matched" }).first().waitFor();
  await assertToastsClearOfTopBar(buyer, "the buyer's orders page");
  await assertToastsClearOfTopBar(supplier, "the supplier's orders page");
  await assertAccessible(buyer, `toasts (${vp.name})`);
  await buyer.screenshot({ path: `${ART}${vp.name}-toast.png` });
});

export const firedEventMovesBell = check("an event fired through POST /api/events/ moves the buyer's bell", async ({ vp, tokens, buyerTab2, orderId }) => {
  const { count: before } = await call(tokens.buyer, "GET", "/notifications/unread-count");
  await waitUnread(buyerTab2, before);
  await buyerTab2.bringToFront();
  const fire = () => call(tokens.admin, "POST", "/events/", { event_type: "ETA_UPDATED", entity_type: "order", entity_id: orderId });
  if (vp.name === "laptop") timings.push(["event fired through POST /api/events/", await timeBadge(buyerTab2, before + 1, fire)]);
  else {
    await fire();
    await waitUnread(buyerTab2, before + 1);
  }
  await buyerTab2.getByRole("status").filter({ hasText: "ETA Updated" }).first().waitFor();
});

export const panelInsideWindow = check("the panel stays inside the window; Escape closes it and returns focus", async ({ vp, buyer }) => {
  await buyer.goto(`${BASE}/orders`);
  await bell(buyer).waitFor();
  const dialog = await openPanel(buyer);
  await dialog.locator("li").first().waitFor();
  await assertInsideWindow(buyer, dialog, "the notification panel");
  await assertAccessible(buyer, `the notification panel (${vp.name})`);
  await buyer.screenshot({ path: `${ART}${vp.name}-panel.png` });
  await buyer.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  assert(await bell(buyer).evaluate((el) => el === document.activeElement), "focus did not return to the bell");
});

export const readInOtherTab = check("reading a notification in one tab un-bolds it in the other tab", async ({ tokens, buyer, buyerTab2 }) => {
  const newest = (await call(tokens.buyer, "GET", "/notifications/?is_read=false&limit=1")).items[0];
  assert(newest, "no unread notification to read");
  await buyerTab2.bringToFront();
  const other = await openPanel(buyerTab2);
  const entry = other.locator(`li[data-notification-id="${newest.id}"]`);
  await entry.and(buyerTab2.locator(".unread")).waitFor();
  await buyer.bringToFront();
  const mine = await openPanel(buyer);
  await mine.getByRole("button", { name: `Mark read: ${newest.title}` }).first().click();
  await buyerTab2.locator(`li[data-notification-id="${newest.id}"]:not(.unread)`).waitFor({ timeout: 10000 });
  await closePanel(buyer);
  await closePanel(buyerTab2);
});

export const clickOpensOrder = check("clicking a notification opens its order and lowers the count", async ({ tokens, buyerTab2, orderId }) => {
  await buyerTab2.bringToFront();
  await buyerTab2.goto(`${BASE}/notifications`);
  await bell(buyerTab2).waitFor();
  const { count } = await call(tokens.buyer, "GET", "/notifications/unread-count");
  await waitUnread(buyerTab2, count);
  await call(tokens.admin, "POST", "/events/", { event_type: "ETA_UPDATED", entity_type: "order", entity_id: orderId });
  await waitUnread(buyerTab2, count + 1);
  const dialog = await openPanel(buyerTab2);
  await dialog.locator("li.unread").getByRole("button", { name: /^ETA Updated/ }).first().click();
  await buyerTab2.waitForURL(`**/orders/${orderId}`);
  await waitUnread(buyerTab2, count);
});

export const markAllRead = check("Mark all read clears the badge in every tab of that user", async ({ buyer, buyerTab2 }) => {
  const dialog = await openPanel(buyer);
  await dialog.getByRole("button", { name: "Mark all read" }).click();
  await waitUnread(buyer, 0);
  await waitUnread(buyerTab2, 0);
  await closePanel(buyer);
  assert((await buyerTab2.locator("li.note.unread").count()) === 0, "the other tab still shows unread entries");
});
