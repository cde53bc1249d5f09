// The inbox, round two (issue 24): order threads, snooze from the panel, the shortcuts, the "N new" banner.
import { ART, BASE, assert, assertAccessible, assertFits, bell, call, check, closePanel, openPanel } from "../helpers.mjs";

/** An order of the buyer's with a few notifications about it (ETA updates fired by the admin). */
async function orderWithNews(ctx, updates = 2) {
  const { tokens } = ctx;
  if (!ctx.inboxOrderId) {
    ctx.inboxOrderId = (await call(tokens.buyer, "POST", "/orders/", { items: [{ part_id: 3, quantity: 1 }] })).id;
  }
  const before = (await call(tokens.buyer, "GET", `/notifications/?entity_type=order&entity_id=${ctx.inboxOrderId}`)).total;
  for (let i = 0; i < updates; i++) {
    await call(tokens.admin, "POST", "/events/", { event_type: "ETA_UPDATED", entity_type: "order", entity_id: ctx.inboxOrderId });
  }
  const deadline = Date.now() + 15000;
  while ((await call(tokens.buyer, "GET", `/notifications/?entity_type=order&entity_id=${ctx.inboxOrderId}`)).total < before + updates) {
    assert(Date.now() < deadline, "the worker did not write the ETA notifications");
    await new Promise((r) => setTimeout(r, 100));
  }
  return ctx.inboxOrderId;
}

const groupSwitch = (scope) => scope.getByRole("switch", { name: "Group by order" });

export const threadsToggle = check("Group by order shows one thread per order, remembered on the server", async (ctx) => {
  const { vp, buyer, tokens } = ctx;
  const orderId = await orderWithNews(ctx, 2);
  await buyer.goto(`${BASE}/orders`);
  await bell(buyer).waitFor();
  const dialog = await openPanel(buyer);
  const toggle = groupSwitch(dialog);
  if ((await toggle.getAttribute("aria-checked")) === "true") await toggle.click();
  await toggle.click();
  assert((await toggle.getAttribute("aria-checked")) === "true", "the switch did not turn on");
  const thread = dialog.locator(`li[data-thread="order-${orderId}"]`);
  await thread.waitFor();
  const text = await thread.innerText();
  assert(text.includes(`Order #${orderId}`) && /\d+ updates/.test(text), `the thread reads ${JSON.stringify(text)}`);
  assert(await thread.locator(".dot").count() === 1, "an unread thread shows no unread dot");
  await assertAccessible(buyer, `the threads view (${vp.name})`);
  await buyer.screenshot({ path: `${ART}${vp.name}-threads.png` });
  const saved = await call(tokens.buyer, "GET", "/preferences/");
  assert(saved.group_by_order === true, "group_by_order was not saved");
  await buyer.reload();
  const again = await openPanel(buyer);
  await again.locator(`li[data-thread="order-${orderId}"]`).waitFor();  // remembered across a reload
});

export const threadOpenedAndRead = check("an opened thread lists its notifications; Mark thread read reads them all", async (ctx) => {
  const { vp, buyer, tokens } = ctx;
  const orderId = ctx.inboxOrderId ?? (await orderWithNews(ctx, 2));
  const dialog = await openPanel(buyer);
  await dialog.locator(`li[data-thread="order-${orderId}"] .note-main`).click();
  const section = dialog.getByRole("region", { name: `Order #${orderId}` });
  await section.locator("li.note.unread").first().waitFor();
  const rows = (await call(tokens.buyer, "GET", `/notifications/?entity_type=order&entity_id=${orderId}`)).items;
  const shown = await section.locator("li[data-notification-id]").evaluateAll((els) => els.map((e) => Number(e.dataset.notificationId)));
  assert(JSON.stringify(shown) === JSON.stringify(rows.map((r) => r.id).reverse()), `thread lists ${shown}, REST ${rows.map((r) => r.id)}`);
  await assertAccessible(buyer, `an opened thread (${vp.name})`);
  await section.getByRole("button", { name: "Mark thread read" }).click();
  await section.locator("li.note.unread").first().waitFor({ state: "detached" });
  const left = (await call(tokens.buyer, "GET", `/notifications/?entity_type=order&entity_id=${orderId}&is_read=false`)).total;
  assert(left === 0, `${left} rows of the thread are still unread`);
  await section.getByRole("button", { name: /./ }).first().click();  // back to all threads
  const toggle = groupSwitch(dialog);
  await toggle.click();
  assert((await toggle.getAttribute("aria-checked")) === "false", "the switch did not turn off");
  await closePanel(buyer);
});

export const snoozeFromPanel = check("Snooze from the panel: the menu, 1 hour, the row leaves the list and is listed as snoozed", async (ctx) => {
  const { vp, buyer, tokens } = ctx;
  await orderWithNews(ctx, 1);
  const dialog = await openPanel(buyer);
  const entry = dialog.locator("li[data-notification-id]").first();
  await entry.waitFor();
  const id = Number(await entry.getAttribute("data-notification-id"));
  await entry.getByRole("button", { name: "Snooze" }).click();
  const menu = entry.getByRole("menu", { name: "Snooze" });
  for (const item of ["1 hour", "Tomorrow 8:00", "Pick a date and time"]) await menu.getByRole("menuitem", { name: item }).waitFor();
  await assertAccessible(buyer, `the snooze menu (${vp.name})`);
  await buyer.screenshot({ path: `${ART}${vp.name}-snooze-menu.png` });
  const before = Date.now();
  // The row leaves the list before the server has answered (optimistic), so wait for the PATCH itself.
  const answered = buyer.waitForResponse((r) => r.url().endsWith(`/notifications/${id}/snooze`) && r.request().method() === "PATCH");
  await menu.getByRole("menuitem", { name: "1 hour" }).click();
  await dialog.locator(`li[data-notification-id="${id}"]`).waitFor({ state: "detached" });
  const response = await answered;
  assert(response.status() === 200, `the snooze answered ${response.status()}`);
  const snoozed = (await call(tokens.buyer, "GET", "/notifications/?snoozed=true")).items.find((n) => n.id === id);
  assert(snoozed, "the row is not listed as snoozed");
  const until = Date.parse(snoozed.snoozed_until);
  assert(Math.abs(until - before - 3600_000) < 60_000, `snoozed until ${snoozed.snoozed_until}`);
  await call(tokens.buyer, "PATCH", `/notifications/${id}/unsnooze`);
  await dialog.locator(`li[data-notification-id="${id}"]`).waitFor();  // back (the push reloads the list)
  await closePanel(buyer);
});

export const shortcuts = check("keyboard: j/k move, ? shows the shortcuts, / focuses search, never while typing", async (ctx) => {
  const { vp, buyer } = ctx;
  await orderWithNews(ctx, 2);
  await buyer.goto(`${BASE}/notifications`);
  const entries = buyer.locator("main li[data-notification-id] .note-main");
  await entries.nth(1).waitFor();
  await entries.first().focus();
  await buyer.keyboard.press("j");
  assert(await entries.nth(1).evaluate((el) => el === document.activeElement), "j did not move to the next entry");
  await buyer.keyboard.press("k");
  assert(await entries.first().evaluate((el) => el === document.activeElement), "k did not move back");
  await buyer.keyboard.press("ArrowDown");
  assert(await entries.nth(1).evaluate((el) => el === document.activeElement), "ArrowDown did not move");
  await buyer.keyboard.press("?");
  const dialog = buyer.getByRole("dialog", { name: "Keyboard shortcuts" });
  await dialog.waitFor();
  await assertAccessible(buyer, `the shortcuts dialog (${vp.name})`);
  await buyer.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  await buyer.keyboard.press("/");
  const search = buyer.getByRole("searchbox", { name: "Search notifications" });
  assert(await search.evaluate((el) => el === document.activeElement), "/ did not focus the search box");
  await buyer.keyboard.type("j?eta");  // typing: no shortcut fires
  assert((await search.inputValue()) === "j?eta", "a shortcut fired while typing");
  assert(await dialog.count() === 0, "the shortcuts opened while typing");
  await search.fill("eta upd");
  try {
    await buyer.waitForFunction(() => {
      const titles = [...document.querySelectorAll("main li[data-notification-id] .note-title")].map((e) => e.textContent);
      return titles.length > 0 && titles.every((t) => /ETA Updated/.test(t));
    }, null, { timeout: 10000 });
  } catch {
    throw new Error(`search found ${await buyer.locator("main li[data-notification-id] .note-title").allInnerTexts()}`);
  }
  await search.fill("zzzz-nothing");
  await buyer.getByText("No notifications match your search.").waitFor();
  await search.fill("");
  await assertFits(buyer, `/notifications with search (${vp.name})`);
});

export const newBanner = check("new arrivals while scrolled down show the N new banner instead of moving the list", async (ctx) => {
  const { vp, buyer } = ctx;
  await orderWithNews(ctx, 14 - Math.min(14, (await call(ctx.tokens.buyer, "GET", "/notifications/?limit=1")).total));
  await buyer.goto(`${BASE}/notifications`);
  await buyer.locator("main li[data-notification-id]").nth(10).waitFor();
  await buyer.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await buyer.waitForFunction(() => window.scrollY > 40);
  await orderWithNews(ctx, 3);
  const banner = buyer.getByRole("button", { name: "3 new", exact: true });
  try {
    await banner.waitFor({ timeout: 10000 });
  } catch (e) {
    await buyer.screenshot({ path: `${ART}${vp.name}-banner-failed.png` });
    const first = await buyer.locator("main li[data-notification-id]").first().getAttribute("data-notification-id");
    const newest = (await call(ctx.tokens.buyer, "GET", "/notifications/?limit=1")).items[0].id;
    throw new Error(`no "3 new" banner; scrollY ${await buyer.evaluate(() => window.scrollY)}, first listed ${first}, newest ${newest}: ${e.message}`);
  }
  await assertAccessible(buyer, `the new banner (${vp.name})`);
  await buyer.screenshot({ path: `${ART}${vp.name}-banner.png` });
  await banner.click();
  await buyer.waitForFunction(() => window.scrollY < 40);
  await banner.waitFor({ state: "detached" });
});
