// The load client for both servers (socket.io-client 4.8, websocket transport): holds one
// socket per token, counts `notification`s, keeps the arrival times (wall clock, ms) of those
// whose metadata carries `bench_fanout`. Commands on stdin, one JSON answer per line on stdout:
//   {"connect": {"url": ..., "tokens": [...]}}  -> {"connected": n, "failed": n}
//   {"count": true}                             -> {"received": n}
//   {"arrivals": "<tag>"}                       -> {"arrivals": [ms, ...]}
//   {"close": true}                             -> {"closed": n}, then exits
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const sockets = [];
const arrivals = new Map();
let received = 0;
const now = () => performance.timeOrigin + performance.now();

function open(url, token) {
  return new Promise((resolve) => {
    const socket = io(url, { path: "/ws", transports: ["websocket"], auth: { token }, reconnection: false });
    socket.on("notification", (data) => {
      received += 1;
      const tag = data?.metadata?.bench_fanout;
      if (tag) {
        if (!arrivals.has(tag)) arrivals.set(tag, []);
        arrivals.get(tag).push(now());
      }
    });
    socket.on("connect", () => resolve(true));
    socket.on("connect_error", () => resolve(false));
    sockets.push(socket);
  });
}

async function connect({ url, tokens }) {
  let connected = 0;
  for (let i = 0; i < tokens.length; i += 50) {
    const results = await Promise.all(tokens.slice(i, i + 50).map((token) => open(url, token)));
    connected += results.filter(Boolean).length;
  }
  return { connected, failed: tokens.length - connected };
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const command = JSON.parse(line);
  if (command.connect) console.log(JSON.stringify(await connect(command.connect)));
  else if (command.count) console.log(JSON.stringify({ received }));
  else if (command.arrivals) console.log(JSON.stringify({ arrivals: arrivals.get(command.arrivals) ?? [] }));
  else if (command.close) {
    sockets.forEach((socket) => socket.disconnect());
    console.log(JSON.stringify({ closed: sockets.length }));
    break;
  }
}
process.exit(0);
