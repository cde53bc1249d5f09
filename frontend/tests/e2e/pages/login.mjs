// The sign-in page and where each role lands.
import { BASE, bell, check, checkPage, signIn, watchConsole } from "../helpers.mjs";

export const signInPage = check("the sign-in page", async ({ vp, guest }) => {
  await guest.goto(`${BASE}/login`);
  await guest.getByRole("button", { name: "Sign in" }).waitFor();
  await checkPage(guest, vp, "login");
});

export const signInLands = check("sign in through /login lands each role on its home page", async (ctx) => {
  const { buyer, supplier, admin, buyerContext } = ctx;
  await signIn(buyer, "buyer@demo.test", "/orders");
  await signIn(supplier, "supplier@demo.test", "/orders");
  await signIn(admin, "admin@demo.test", "/admin");
  const buyerTab2 = await buyerContext.newPage();
  ctx.buyerTab2 = buyerTab2;
  watchConsole(buyerTab2, "buyer, second tab");
  await buyerTab2.goto(`${BASE}/orders`);
  for (const page of [buyer, supplier, buyerTab2]) await bell(page).waitFor();
  await admin.getByRole("region", { name: "Live activity" }).waitFor();
});
