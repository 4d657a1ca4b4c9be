// An HTTP receiver for an avatarbus route (`routes:` in avatarbus.yaml): it verifies each delivery's
// Standard Webhooks signature, parses the body as a CloudEvent (structured mode), drops repeats by
// webhook-id (the event id: a route delivers at least once), and answers 204; a request that is not
// signed with the route's secret is answered 401 and never handled.
//
//   WEBHOOK_SECRET=whsec_... LISTEN=127.0.0.1:8090 node receiver.js
//
// Settings (environment): WEBHOOK_SECRET (the route's secret, required), LISTEN (127.0.0.1:8090;
// port 0 picks a free one, printed at start).
import http from "node:http";
import { HTTP } from "cloudevents";
import { secretKey, verify } from "./verify.js";

const MAX_BODY = 1 << 20;
const SEEN_MAX = 10_000;

if (!process.env.WEBHOOK_SECRET) {
  console.error("set WEBHOOK_SECRET to the route's whsec_ secret");
  process.exit(2);
}
const key = secretKey(process.env.WEBHOOK_SECRET);
const [host, port] = (process.env.LISTEN || "127.0.0.1:8090").split(/:(?=\d+$)/);

// seen holds the last SEEN_MAX webhook-ids; a real service keeps them where it keeps its work.
const seen = new Set();

function answer(res, status, text) {
  res.writeHead(status, { "content-type": "text/plain" }).end(text);
}

const server = http.createServer((req, res) => {
  if (req.method !== "POST") {
    return answer(res, 405, "POST only\n");
  }
  const chunks = [];
  let size = 0;
  req.on("data", (c) => {
    size += c.length;
    if (size > MAX_BODY) {
      answer(res, 413, "too large\n");
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on("end", () => {
    if (res.writableEnded) {
      return;
    }
    const body = Buffer.concat(chunks);
    const reason = verify(key, req.headers, body);
    if (reason !== null) {
      console.log(`rejected ${req.headers["webhook-id"] || "(no webhook-id)"}: ${reason}`);
      return answer(res, 401, "invalid signature\n");
    }
    const id = req.headers["webhook-id"];
    if (seen.has(id)) {
      console.log(`duplicate webhook-id=${id}`);
      return answer(res, 204, "");
    }
    let event;
    try {
      event = HTTP.toEvent({ headers: req.headers, body: body.toString("utf8") });
      event.validate();
    } catch (err) {
      // Signed by avatarbus but not a CloudEvent: a retry would not help, so it is accepted and logged.
      console.log(`verified webhook-id=${id} but not a CloudEvent: ${err.message}`);
      return answer(res, 204, "");
    }
    console.log(`verified webhook-id=${id} type=${event.type} subject=${event.subject} id=${event.id}`);
    seen.add(id);
    if (seen.size > SEEN_MAX) {
      seen.delete(seen.values().next().value);
    }
    answer(res, 204, "");
  });
});

server.listen(Number(port), host, () => {
  const a = server.address();
  console.log(`receiver listening on ${a.address}:${a.port}`);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => server.close(() => process.exit(0)));
}
