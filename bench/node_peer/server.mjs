// The Node peer of the project's gateway: socket.io 4.8 with @socket.io/redis-adapter's sharded
// adapter in dynamic mode (one shard channel per room, subscribed while a local socket is in
// it: what the gateway does). Each connect does the gateway's job: verify the HS256 token, read
// the user with one prepared query, join the user's and the role's rooms.
//   PORT=... REDIS_URL=redis://... PG_URL=postgres://... JWT_SECRET=... node server.mjs
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createShardedAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import jwt from "jsonwebtoken";
import pg from "pg";

const pubClient = createClient({ url: process.env.REDIS_URL });
const subClient = pubClient.duplicate();
await Promise.all([pubClient.connect(), subClient.connect()]);
const pool = new pg.Pool({ connectionString: process.env.PG_URL, max: 10 });
const USER_QUERY = { name: "peer-user", text: "SELECT id, role, is_active FROM users WHERE id = $1" };

const httpServer = createServer();
const io = new Server(httpServer, {
  path: "/ws",
  transports: ["websocket"],
  adapter: createShardedAdapter(pubClient, subClient, { subscriptionMode: "dynamic" }),
});

io.use(async (socket, next) => {
  try {
    const claims = jwt.verify(String(socket.handshake.auth?.token), process.env.JWT_SECRET, {
      algorithms: ["HS256"],
    });
    const { rows } = await pool.query({ ...USER_QUERY, values: [Number(claims.sub)] });
    if (rows.length === 0 || !rows[0].is_active) return next(new Error("Not authorised"));
    socket.data.user = rows[0];
    next();
  } catch {
    next(new Error("Not authorised"));
  }
});

io.on("connection", (socket) => {
  const { id, role } = socket.data.user;
  socket.join([`user_${id}`, `role_${role}`]);
});

httpServer.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"));
