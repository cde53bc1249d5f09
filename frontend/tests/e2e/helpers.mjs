// What every browser check shares: the stack's address, API calls, signing in, the bell and
// its panel, the checks a page passes as a person sees it (fits the window, axe, screenshot),
// and the test runner's bookkeeping. The checks themselves are in pages/*.mjs; run.mjs runs them.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { io } from "socket.io-client";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
export const BASE = process.env.BASE_URL ?? "http://127.0.0.1:8000";
export const ART = new URL("../../../test-artifacts/screenshots/", import.meta.url).pathname;
mkdirSync(ART, { recursive: true });
export const VIEWPORTS = [
  { name: "laptop", width: 1280, height: 720 },
  { name: "phone", width: 390, height: 844 },
];

export const results = [];
export const timings = [];

export async function apiLogin(email) {
  const r = await fetch(`${BASE}/api/auth/login`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: "demo1234" }),
  });
  if (!r.ok) throw new Error(`login ${email}: ${r.status}`);
  return (await r.json()).access_token;
}

export async function call(token, method, path, body) {
  const r = await fetch(`${BASE}/api${path}`, {
    method, headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

/** SQL against the stack's database (to set an event's state the way a failure or a redelivery would). */
const PYTHON = new URL("../../../.venv/bin/python", import.meta.url).pathname;
export function sql(statement) {
  if (!process.env.DATABASE_URL) throw new Error("DATABASE_URL is needed for this check");
  const script = "import os, sys, sqlalchemy as sa\n"
    + "with sa.create_engine(os.environ['DATABASE_URL']).begin() as c: c.execute(sa.text(sys.argv[1]))";
  execFileSync(PYTHON, ["-c", script, statement], { encoding: "utf8" });
}

export async function signIn(page, email, landing) {
  await page.goto(`${BASE}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("demo1234");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`**${landing}`);
}

export const bell = (page) => page.getByRole("button", { name: /^Notifications/ });
export const panel = (page) => page.getByRole("dialog", { name: "Notifications" });
export async function unread(page) {
  const name = await bell(page).getAttribute("aria-label");
  return Number(/(\d+) unread/.exec(name)[1]);
}
export async function waitUnread(page, expected, timeout = 15000) {
  try {
    await page.waitForFunction(
      // `, 1 critical` follows when there are critical unread rows (issue 23).
      (n) => new RegExp(`^Notifications, ${n} unread(, \\d+ critical)?$`).test(
        document.querySelector('button[aria-label^="Notifications"]')?.getAttribute("aria-label") ?? ""),
      expected,
      { polling: 5, timeout },
    );
  } catch {
    throw new Error(`expected ${expected} unread, have ${await unread(page)}`);
  }
}
export async function openPanel(page) {
  if (!(await panel(page).isVisible())) await bell(page).click();
  await panel(page).waitFor();
  return panel(page);
}
export async function closePanel(page) {
  if (await panel(page).isVisible()) {
    await page.keyboard.press("Escape");
    await panel(page).waitFor({ state: "detached" });
  }
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** The box of `locator` lies inside the window. */
export async function assertInsideWindow(page, locator, what) {
  const box = await locator.boundingBox();
  const vp = page.viewportSize();
  assert(box, `${what} is not visible`);
  const inside = box.x >= 0 && box.y >= 0 && box.x + box.width <= vp.width + 0.5 && box.y + box.height <= vp.height + 0.5;
  assert(inside, `${what} is outside the ${vp.width}x${vp.height} window: ${JSON.stringify(box)}`);
}

/** No horizontal scrolling: the page is not wider than the window. */
export async function assertFits(page, what) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
  }));
  assert(scroll <= inner, `${what} is ${scroll}px wide in a ${inner}px window`);
}

/** axe-core in the page: no serious or critical violation. */
export async function assertAccessible(page, what, { skipRules = [] } = {}) {
  // Evaluated through the DevTools protocol: the gateway's CSP (script-src 'self') stays on
  // and refuses inline <script> tags, so the app is tested under the policy it ships with.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async (skip) => {
    // A toast fading in (react-hot-toast's enter animation) has, for a moment, text too faint
    // for the contrast rule: axe looks at the page once its finite animations have ended.
    const deadline = Date.now() + 2000;
    const moving = () => document.getAnimations().some(
      (a) => a.playState === "running" && a.effect?.getComputedTiming().endTime !== Infinity);
    while (moving() && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50));
    const rules = Object.fromEntries(skip.map((id) => [id, { enabled: false }]));
    const result = await window.axe.run(document, { resultTypes: ["violations"], rules });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")})`);
  }, skipRules);
  assert(violations.length === 0, `axe on ${what}:\n          ${violations.join("\n          ")}`);
}

/** One page as a person sees it: fits the window, passes axe, screenshotted. */
export async function checkPage(page, vp, name, axeOptions = {}) {
  await page.waitForLoadState("networkidle").catch(() => {});
  await page.waitForTimeout(150);
  await assertFits(page, `${name} (${vp.name})`);
  await assertAccessible(page, `${name} (${vp.name})`, axeOptions);
  // The page itself, without the toasts of earlier steps (they have a screenshot of their own).
  await page.addStyleTag({ content: "[data-rht-toaster] { display: none !important; }" }).then(async (tag) => {
    await page.screenshot({ path: `${ART}${vp.name}-${name}.png` });
    await tag.evaluate((el) => el.remove());
  });
}

/** Toasts never cover the top bar's controls (and stay inside the window). */
export async function assertToastsClearOfTopBar(page, what) {
  const toasts = page.locator('[data-rht-toaster] [role="status"]');
  await toasts.first().waitFor();
  // A toast slides in from below and the stack re-spaces when another arrives: measure
  // where they come to rest, not a frame of their animation.
  await page.waitForFunction(() => {
    const toaster = document.querySelector("[data-rht-toaster]");
    return !toaster || toaster.getAnimations({ subtree: true })
      .every((a) => a.playState !== "running" || a.effect?.getTiming().iterations === Infinity);
  });
  for (const toast of await toasts.all()) {
    if (!(await toast.boundingBox())) continue;
    const leaving = await toast.evaluate((el) => Number(getComputedStyle(el.parentElement).opacity) === 0);
    if (leaving) continue;
    await assertClearOfTopBar(page, toast, `a toast on ${what}`);
  }
}

/** `locator` lies inside the window and covers none of the top bar's controls. */
export async function assertClearOfTopBar(page, locator, what) {
  const controls = await page.locator("header.topbar").locator("button, a").all();
  const boxes = (await Promise.all(controls.map((c) => c.boundingBox()))).filter(Boolean);
  await assertInsideWindow(page, locator, what);
  const t = await locator.boundingBox();
  for (const c of boxes) {
    const overlap = t.x < c.x + c.width && c.x < t.x + t.width && t.y < c.y + c.height && c.y < t.y + t.height;
    assert(!overlap, `${what} covers a top-bar control at ${JSON.stringify(c)}`);
  }
}

// Milliseconds from the start of `action` (an API call) to the badge showing `expected`,
// stamped inside the page by a MutationObserver: Playwright's own waiting adds
// hundreds of milliseconds of its overhead, so it cannot be the clock.
export async function timeBadge(page, expected, action) {
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

class Skipped extends Error {}
/** Ends a check that cannot run against this server (said in the output; neither a pass nor a failure). */
export function skip(why) {
  throw new Skipped(why);
}

export async function test(name, fn) {
  try {
    await fn();
    results.push([name, true]);
    console.log(`  ok    ${name}`);
  } catch (error) {
    if (error instanceof Skipped) {
      console.log(`  skip  ${name}\n        ${error.message}`);
      return;
    }
    results.push([name, false]);
    console.log(`  FAIL  ${name}\n        ${error.stack ?? error}`);
  }
}

// Console errors a person would never see but that mean something broke (a CSP refusal, say).
export const consoleErrors = [];
export function watchConsole(page, who) {
  page.on("console", (msg) => {
    if (msg.type() === "error" && /Content Security Policy|Refused to/i.test(msg.text())) consoleErrors.push(`${who}: ${msg.text()}`);
  });
  page.on("pageerror", (error) => consoleErrors.push(`${who}: ${error.message}`));
}

export const eventRow = (page, id) => page.getByRole("table", { name: "Event log" }).locator(`tr[data-event-id="${id}"]`);
export async function waitRowState(page, id, state, timeout = 20000) {
  await page.locator(`table[aria-label="Event log"] tr[data-event-id="${id}"][data-state="${state}"]`).waitFor({ timeout });
}

/** A named browser check; `run` gets the suite's shared context (pages, tokens, the order under test). */
export function check(name, run) {
  return { name, run };
}

/**
 * Call before a navigation of `page`; resolves once its socket is live (the `unread_count` that
 * follows every connect has come, CONTRACT section 5) and none of its notification requests is in
 * flight. A row fired after that reaches the page as a push, with its toast; fired earlier, it can
 * come in the list the page is still loading (the app toasts pushes only, never listed rows).
 */
export async function whenLive(page, timeout = 15000) {
  let inFlight = 0;
  const isNotifications = (request) => new URL(request.url()).pathname.startsWith("/api/notifications");
  const started = (request) => { if (isNotifications(request)) inFlight += 1; };
  const ended = (request) => { if (isNotifications(request)) inFlight -= 1; };
  let counted;
  const countCame = new Promise((resolve) => { counted = resolve; });
  // socket.io starts on long-polling and upgrades to a WebSocket: the count can come either way.
  const onSocket = (ws) => ws.on("framereceived", ({ payload }) => {
    if (String(payload).includes('"unread_count"')) counted();
  });
  const onPoll = async (response) => {
    if (!new URL(response.url()).pathname.startsWith("/ws/")) return;
    const body = await response.text().catch(() => "");
    if (body.includes('"unread_count"')) counted();
  };
  page.on("request", started);
  page.on("requestfinished", ended);
  page.on("requestfailed", ended);
  page.on("websocket", onSocket);
  page.on("response", onPoll);
  try {
    const deadline = Date.now() + timeout;
    let timer;
    const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("the page's socket sent no unread_count")), timeout); });
    await Promise.race([countCame, late]).finally(() => clearTimeout(timer));
    while (inFlight > 0) {
      assert(Date.now() < deadline, "the page's notification requests did not finish");
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    page.off("request", started);
    page.off("requestfinished", ended);
    page.off("requestfailed", ended);
    page.off("websocket", onSocket);
    page.off("response", onPoll);
  }
}

/**
 * A socket of the user of `token`, from Node (as another window of theirs would hold):
 * `connected` settles with the handshake (rejects with the server's refusal), `nextPush`
 * waits for a `notification` push arriving after the call.
 */
export function listen(token) {
  const socket = io(BASE, { path: "/ws", auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
  const pushes = [];
  socket.on("notification", (p) => pushes.push(p));
  const connected = new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  connected.catch(() => {});
  return {
    connected,
    mark: () => pushes.length,
    async nextPush(since, match = () => true, timeout = 15000) {
      const started = Date.now();
      for (;;) {
        const found = pushes.slice(since).find(match);
        if (found) return found;
        if (Date.now() - started > timeout) throw new Error("no notification push arrived");
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => socket.close(),
  };
}

/** A new buyer of factory 1 (password demo1234), for checks that end or crowd an account. */
export async function newBuyer(adminToken, tag) {
  const email = `e2e-${tag}-${Date.now()}@demo.test`;
  const user = await call(adminToken, "POST", "/users/", { email, password: "demo1234", full_name: `E2E ${tag}`, role: "buyer", factory_id: 1 });
  return { ...user, token: await apiLogin(email) };
}
