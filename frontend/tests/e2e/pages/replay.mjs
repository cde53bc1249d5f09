// Rows pushed again (a replay, a catch-up): the web app toasts only new unread rows and lists
// no archived one (CONTRACT §8).
import { BASE, assert, bell, call, check, listen, skip, whenLive } from "../helpers.mjs";

/** Records in the page every toast that appears from now on (its text). */
async function watchToasts(page) {
  // Toasts of earlier steps leave first, so a toast shown again would be a new node.
  await page.waitForFunction(() => !document.querySelector('[data-rht-toaster] [role="status"]'), null, { timeout: 15000 });
  await page.evaluate(() => {
    window.__toasts = [];
    new MutationObserver((changes) => {
      for (const c of changes) {
        for (const node of c.addedNodes) {
          const toast = node.nodeType === 1 && (node.matches('[role="status"]') ? node : node.querySelector('[role="status"]'));
          if (toast) window.__toasts.push(toast.textContent);
        }
      }
    }).observe(document.querySelector("[data-rht-toaster]"), { childList: true, subtree: true });
  });
}
const toastsSince = (page) => page.evaluate(() => window.__toasts);

export const replayReadRow = check("a replayed row that was read: no second toast, it stays read and listed once", async (ctx) => {
  const { tokens, buyer, orderId } = ctx;
  // The event is fired once the page's socket is live and its list has loaded: a row pushed
  // earlier could fall between the two and be listed by neither (as in the toast checks).
  const live = whenLive(buyer);
  await buyer.goto(`${BASE}/notifications`);
  await live;
  await bell(buyer).waitFor();
  const buyerSocket = listen(tokens.buyer);
  await buyerSocket.connected;
  try {
    let since = buyerSocket.mark();
    const { event_id: eventId } = await call(tokens.admin, "POST", "/events/", { event_type: "ETA_UPDATED", entity_type: "order", entity_id: orderId });
    const { id } = await buyerSocket.nextPush(since, (p) => p.event_type === "ETA_UPDATED");
    const entry = buyer.locator(`main li[data-notification-id="${id}"]`);
    await entry.and(buyer.locator(".unread")).waitFor();

    // Read, then replayed: the push comes again with is_read true; the page neither toasts nor un-reads it.
    await call(tokens.buyer, "PATCH", `/notifications/${id}/read`);
    await buyer.locator(`main li[data-notification-id="${id}"]:not(.unread)`).waitFor({ timeout: 10000 });
    await watchToasts(buyer);
    since = buyerSocket.mark();
    await call(tokens.admin, "POST", `/events/${eventId}/replay`);
    const again = await buyerSocket.nextPush(since, (p) => p.id === id);
    assert(again.is_read === true, `the replayed push says is_read ${again.is_read}`);
    await buyer.waitForTimeout(700);
    assert((await toastsSince(buyer)).length === 0, `a replay toasted: ${await toastsSince(buyer)}`);
    assert((await entry.count()) === 1, "the replayed row is listed twice");
    assert(!(await entry.evaluate((el) => el.classList.contains("unread"))), "the replay made the read row unread");
    ctx.replayed = { id, eventId };
  } finally {
    buyerSocket.close();
  }
});

export const replayArchivedRow = check("a replayed row that was archived: no toast, it stays out of the inbox", async ({ tokens, buyer, replayed }) => {
  assert(replayed, "the previous check left no replayed row");
  const { id, eventId } = replayed;
  const entry = buyer.locator(`main li[data-notification-id="${id}"]`);
  const buyerSocket = listen(tokens.buyer);
  await buyerSocket.connected;
  try {
    await watchToasts(buyer);
    await call(tokens.buyer, "PATCH", `/notifications/${id}/archive`);
    await entry.waitFor({ state: "detached", timeout: 10000 });
    const since = buyerSocket.mark();
    await call(tokens.admin, "POST", `/events/${eventId}/replay`);
    const archived = await buyerSocket.nextPush(since, (p) => p.id === id);
    if (!("archived" in archived)) {
      await buyer.reload();
      skip("the server's notification push carries no `archived` yet (CONTRACT §8): the archived half is not checked");
    }
    await buyer.waitForTimeout(700);
    assert((await toastsSince(buyer)).length === 0, `a replay of an archived row toasted: ${await toastsSince(buyer)}`);
    assert((await entry.count()) === 0, "a replay brought an archived row back into the inbox");
  } finally {
    buyerSocket.close();
  }
});
