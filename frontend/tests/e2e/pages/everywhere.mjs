// What every page owes: it fits the window, passes axe, and nothing threw.
import { BASE, assert, check, checkPage, consoleErrors } from "../helpers.mjs";

export const otherPagesFit = check("every other page fits the window and passes axe", async ({ vp, buyer, supplier, orderId }) => {
  await buyer.goto(`${BASE}/orders`);
  await buyer.getByRole("table", { name: "Orders" }).waitFor();
  await checkPage(buyer, vp, "orders-buyer");
  await supplier.goto(`${BASE}/orders`);
  await supplier.getByRole("table", { name: "Orders" }).waitFor();
  await checkPage(supplier, vp, "orders-supplier");
  await supplier.goto(`${BASE}/orders/${orderId}`);
  await supplier.getByRole("table", { name: "Parts" }).waitFor();
  await checkPage(supplier, vp, "order-supplier");
  await buyer.goto(`${BASE}/settings`);
  await buyer.getByRole("heading", { name: "Notification preferences" }).waitFor();
  await buyer.waitForFunction(() => !document.querySelector("main .spin"));
  await checkPage(buyer, vp, "settings");
});

export const noConsoleErrors = check("no page threw or was refused by the Content-Security-Policy", async () => {
  const seen = consoleErrors.splice(0);
  assert(seen.length === 0, `console:\n          ${seen.join("\n          ")}`);
});
