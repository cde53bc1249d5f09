// Sends notifications to single users through the Node peer's adapter, open loop:
// message n leaves at start + n / rate. Reads one JSON line per run on stdin
// ({"users": [...], "messages": n, "rate": r, "payload": {...}}) and answers {"sent": n}.
//   REDIS_URL=redis://... node publisher.mjs
import { createInterface } from "node:readline";
import { Server } from "socket.io";
import { createShardedAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const pubClient = createClient({ url: process.env.REDIS_URL });
const subClient = pubClient.duplicate();
await Promise.all([pubClient.connect(), subClient.connect()]);
const io = new Server({ adapter: createShardedAdapter(pubClient, subClient, { subscriptionMode: "dynamic" }) });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function run({ users, messages, rate, payload }) {
  const start = performance.now();
  let sent = 0;
  while (sent < messages) {
    const due = Math.min(messages, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      io.to(`user_${users[sent % users.length]}`).emit("notification", { ...payload, id: sent });
    }
    await sleep(Math.max(0, start + (sent / rate) * 1000 - performance.now()));
  }
  return sent;
}

console.log(JSON.stringify({ ready: true }));
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  console.log(JSON.stringify({ sent: await run(JSON.parse(line)) }));
}
process.exit(0);
