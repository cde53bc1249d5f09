// An order's page and its OrderStatusTracker.
import { ART, BASE, assert, call, check, checkPage } from "../helpers.mjs";

export const orderPage = check("the order page names its parts, supplier and history; the tracker moves live", async ({ vp, tokens, parts, buyer, supplier, orderId }) => {
  await buyer.goto(`${BASE}/orders/${orderId}`);
  const table = buyer.getByRole("table", { name: "Parts" });
  for (const id of [3, 1]) {
    await table.getByText(parts[id].name, { exact: true }).waitFor();
    await table.getByText(parts[id].sku, { exact: true }).waitFor();
  }
  const steps = buyer.getByRole("list", { name: "Order status" }).locator("li");
  await steps.nth(1).and(buyer.locator('[aria-current="step"]')).waitFor();
  const { supplier_name } = await call(tokens.buyer, "GET", `/orders/${orderId}`);
  assert(supplier_name, "the order API names no supplier");
  await buyer.locator(".facts").getByText(supplier_name, { exact: true }).waitFor();
  await call(tokens.supplier, "POST", `/orders/${orderId}/transitions`, { status: "CONFIRMED" });
  await steps.nth(2).and(buyer.locator('[aria-current="step"][data-reached="true"]')).waitFor({ timeout: 15000 });
  await call(tokens.supplier, "POST", `/orders/${orderId}/delivery`, {
    eta: new Date(Date.now() + 2 * 86400e3).toISOString(), carrier: "DHL Freight", tracking_ref: `TRK-${vp.name}-${orderId}`,
  });
  for (const [status, index] of [["DISPATCHED", 3], ["IN_TRANSIT", 4]]) {
    await call(tokens.supplier, "POST", `/orders/${orderId}/transitions`, { status });
    await steps.nth(index).and(buyer.locator('[aria-current="step"][data-reached="true"]')).waitFor({ timeout: 15000 });
  }
  await buyer.getByText("DHL Freight").waitFor({ timeout: 15000 });
  await buyer.getByText(`TRK-${vp.name}-${orderId}`).waitFor();
  await checkPage(buyer, vp, "order");
});

export const cancelledOrder = check("a cancelled order keeps its reached steps lit and says so", async ({ vp, tokens, buyer, supplier }) => {
  // Part 3 is cheapest at supplier 1, so that is the supplier who gets it.
  const cancelled = (await call(tokens.buyer, "POST", "/orders/", { items: [{ part_id: 3, quantity: 1 }] })).id;
  // Wait for the match, confirm, then cancel.
  const start = Date.now();
  while ((await call(tokens.buyer, "GET", `/orders/${cancelled}`)).status !== "MATCHED" && Date.now() - start < 15000) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await call(tokens.supplier, "POST", `/orders/${cancelled}/transitions`, { status: "CONFIRMED" });
  await call(tokens.buyer, "POST", `/orders/${cancelled}/transitions`, { status: "CANCELLED", reason: "e2e" });
  await buyer.goto(`${BASE}/orders/${cancelled}`);
  await buyer.getByText(/This order was cancelled/).waitFor();
  const reached = await buyer.getByRole("list", { name: "Order status" }).locator("li").evaluateAll(
    (lis) => lis.map((li) => li.getAttribute("data-reached")));
  assert(JSON.stringify(reached) === JSON.stringify(["true", "true", "true", "false", "false", "false"]), `reached: ${reached}`);
  await buyer.screenshot({ path: `${ART}${vp.name}-order-cancelled.png` });
});
