// End-to-end browser tests in Debian's Chromium, driven by playwright-core,
// against the real stack started by tests/e2e_stack.py (BASE_URL).
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:8000";
const ART = new URL("../../../test-artifacts/screenshots/", import.meta.url).pathname;
mkdirSync(ART, { recursive: true });

const results = [];
const timings = [];

async function apiLogin(email) {
  const r = await fetch(`${BASE}/api/auth/login`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: "demo1234" }),
  });
  if (!r.ok) throw new Error(`login ${email}: ${r.status}`);
  return (await r.json()).access_token;
}

async function call(token, method, path, body) {
  const r = await fetch(`${BASE}/api${path}`, {
    method, headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

async function signIn(page, email, landing) {
  await page.goto(`${BASE}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("demo1234");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`**${landing}`);
}

const bell = (page) => page.getByRole("button", { name: /^Notifications/ });
async function unread(page) {
  const name = await bell(page).getAttribute("aria-label");
  return Number(/(\d+) unread/.exec(name)[1]);
}
async function waitUnread(page, expected, timeout = 15000) {
  try {
    await page.waitForFunction(
      (n) => document.querySelector('button[aria-label^="Notifications"]')?.getAttribute("aria-label") === `Notifications, ${n} unread`,
      expected,
      { polling: 5, timeout },
    );
  } catch {
    throw new Error(`expected ${expected} unread, have ${await unread(page)}`);
  }
}

// Milliseconds from the start of `action` (an API call) to the badge showing `expected`,
// stamped inside the page by a MutationObserver: Playwright's own waiting adds
// hundreds of milliseconds of its overhead, so it cannot be the clock.
async function timeBadge(page, expected, action) {
  await page.evaluate((n) => {
    window.__badgeMovedAt = null;
    const bellButton = document.querySelector('button[aria-label^="Notifications"]');
    new MutationObserver(() => {
      if (window.__badgeMovedAt === null && bellButton.getAttribute("aria-label") === `Notifications, ${n} unread`) {
        window.__badgeMovedAt = Date.now();
      }
    }).observe(bellButton, { attributes: true, attributeFilter: ["aria-label"] });
  }, expected);
  const started = Date.now();
  await action();
  let movedAt = null;
  while (movedAt === null && Date.now() - started < 15000) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    movedAt = await page.evaluate(() => window.__badgeMovedAt);
  }
  if (movedAt === null) throw new Error(`badge never showed ${expected} unread`);
  return movedAt - started;
}

async function test(name, fn) {
  try {
    await fn();
    results.push([name, true]);
    console.log(`  ok    ${name}`);
  } catch (error) {
    results.push([name, false]);
    console.log(`  FAIL  ${name}\n        ${error.stack ?? error}`);
  }
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const buyerContext = await browser.newContext();
  const supplierContext = await browser.newContext();
  const adminContext = await browser.newContext();
  const buyer = await buyerContext.newPage();
  const supplier = await supplierContext.newPage();
  const admin = await adminContext.newPage();
  const tokens = {
    buyer: await apiLogin("buyer@demo.test"),
    supplier: await apiLogin("supplier@demo.test"),
    admin: await apiLogin("admin@demo.test"),
  };
  let orderId;
  let buyerTab2;

  await test("sign in through /login lands each role on its home page", async () => {
    await signIn(buyer, "buyer@demo.test", "/orders");
    await signIn(supplier, "supplier@demo.test", "/orders");
    await signIn(admin, "admin@demo.test", "/admin");
    buyerTab2 = await buyerContext.newPage();
    await buyerTab2.goto(`${BASE}/orders`);
    for (const page of [buyer, supplier, buyerTab2]) await waitUnread(page, 0);
    await admin.getByRole("region", { name: "Live activity" }).waitFor();
  });

  await test("an order placed through the API lights up both bells and toasts", async () => {
    timings.push(
      ["order placed (matched by the worker)", await timeBadge(buyer, 1, async () => {
        orderId = (await call(tokens.buyer, "POST", "/orders/", { items: [{ part_id: 3, quantity: 2 }] })).id;
      })],
    );
    await waitUnread(supplier, 1);
    await waitUnread(buyerTab2, 1);
    await buyer.getByRole("status").filter({ hasText: "Supplier Matched" }).first().waitFor();
    await supplier.getByRole("status").filter({ hasText: "Supplier Matched" }).first().waitFor();
    await buyer.screenshot({ path: `${ART}buyer-toast.png` });
    await supplier.screenshot({ path: `${ART}supplier-toast.png` });
  });

  await test("the admin's live activity shows each event", async () => {
    const feed = admin.getByRole("region", { name: "Live activity" });
    await feed.getByText("ORDER_PLACED").first().waitFor();
    await feed.getByText("SUPPLIER_MATCHED").first().waitFor();
    await admin.screenshot({ path: `${ART}admin-feed.png` });
  });

  await test("the buyer's tracker moves step by step without a reload", async () => {
    await buyer.goto(`${BASE}/orders/${orderId}`);
    const steps = buyer.getByRole("list", { name: "Order status" }).locator("li");
    await steps.nth(1).and(buyer.locator('[aria-current="step"]')).waitFor();
    for (const [status, index] of [["CONFIRMED", 2], ["DISPATCHED", 3], ["IN_TRANSIT", 4]]) {
      await call(tokens.supplier, "POST", `/orders/${orderId}/transitions`, { status });
      await steps.nth(index).and(buyer.locator('[aria-current="step"][data-reached="true"]')).waitFor({ timeout: 15000 });
    }
    await buyer.screenshot({ path: `${ART}buyer-tracker.png` });
  });

  await test("an event fired through POST /api/events/ moves the buyer's bell", async () => {
    // Start the clock only once the tab shows the server's count: notifications of
    // the moves above may still be on their way, and would be timed instead.
    const { count: before } = await call(tokens.buyer, "GET", "/notifications/unread-count");
    await waitUnread(buyerTab2, before);
    // Timed on the tab a person is looking at: Chromium renders a tab behind
    // another one later (measured here: about 350 ms instead of about 45 ms).
    await buyerTab2.bringToFront();
    timings.push([
      "event fired through POST /api/events/",
      await timeBadge(buyerTab2, before + 1, () =>
        call(tokens.admin, "POST", "/events/", { event_type: "ETA_UPDATED", entity_type: "order", entity_id: orderId }),
      ),
    ]);
    await buyerTab2.getByRole("status").filter({ hasText: "ETA Updated" }).first().waitFor();
  });

  await test("clicking a notification opens its order and lowers the count", async () => {
    await buyerTab2.goto(`${BASE}/notifications`);
    let before = 0;
    const start = Date.now();
    while ((before = await unread(buyerTab2)) === 0 && Date.now() - start < 10000) await buyerTab2.waitForTimeout(20);
    await bell(buyerTab2).click();
    const dialog = buyerTab2.getByRole("dialog", { name: "Notifications" });
    await dialog.getByRole("button", { name: /ETA Updated/ }).click();
    await buyerTab2.waitForURL(`**/orders/${orderId}`);
    await waitUnread(buyerTab2, before - 1);
  });

  await test("Mark all read clears the badge in every tab of that user", async () => {
    await bell(buyer).click();
    await buyer.getByRole("dialog", { name: "Notifications" }).getByRole("button", { name: "Mark all read" }).click();
    await waitUnread(buyer, 0);
    await waitUnread(buyerTab2, 0);
    await buyer.keyboard.press("Escape");
    await buyer.screenshot({ path: `${ART}buyer-all-read.png` });
  });
} finally {
  await browser.close();
}

const passed = results.filter(([, ok]) => ok).length;
const failed = results.length - passed;
for (const [what, ms] of timings) console.log(`badge moved ${ms} ms after the API call: ${what}`);
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
