// A durable JetStream pull consumer of avatarbus events: every finished video from every platform,
// acknowledged one by one after it was handled. Each message is a CloudEvent in structured mode
// (Content-Type: application/cloudevents+json), parsed with the CloudEvents SDK.
//
//   NATS_CREDENTIALS_FILE=../../data/jetstream/nats-credentials.json node consumer.js
//
// Settings (environment): NATS_URL (nats://127.0.0.1:4222), NATS_USER (consumer), NATS_PASSWORD or
// NATS_CREDENTIALS_FILE (avatarbus's <store_dir>/nats-credentials.json; the consumer's password is
// read from it), STREAM (AVATAR), DURABLE (node-mailer), FILTER (avatar.video.completed.*).
import { readFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { HTTP } from "cloudevents";

const env = process.env;
const stream = env.STREAM || "AVATAR";
const durable = env.DURABLE || "node-mailer";
const filter = env.FILTER || "avatar.video.completed.*";

function login() {
  const user = env.NATS_USER || "consumer";
  if (env.NATS_PASSWORD) {
    return { user, pass: env.NATS_PASSWORD };
  }
  if (env.NATS_CREDENTIALS_FILE) {
    // The file avatarbus writes on its first start: {"avatarbus": {...}, "consumer": {"user", "password"}}.
    const creds = JSON.parse(readFileSync(env.NATS_CREDENTIALS_FILE, "utf8"));
    const u = creds[user];
    if (!u || !u.password) {
      throw new Error(`${env.NATS_CREDENTIALS_FILE} has no password for user ${user}`);
    }
    return { user: u.user, pass: u.password };
  }
  throw new Error("set NATS_PASSWORD or NATS_CREDENTIALS_FILE (the embedded NATS refuses anonymous clients)");
}

// handle is the service's work. It must be idempotent on event.id: JetStream delivers at least once
// (a crash after the work and before the ack delivers the event again).
async function handle(event, seq) {
  console.log(`event type=${event.type} subject=${event.subject} id=${event.id} platform=${event.platform} seq=${seq}`);
}

const nc = await connect({ servers: env.NATS_URL || "nats://127.0.0.1:4222", name: "avatarbus-node-example", ...login() });

// Creating the durable consumer is idempotent as long as its configuration does not change; it
// keeps its place in the stream across restarts of this process.
const jsm = await jetstreamManager(nc);
await jsm.consumers.add(stream, {
  durable_name: durable,
  filter_subject: filter,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All,
  ack_wait: 30_000_000_000, // nanoseconds: redelivered when not acked within 30 s
  max_deliver: 10,
});

const consumer = await jetstream(nc).consumers.get(stream, durable);
const messages = await consumer.consume({ max_messages: 16 });
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => messages.stop());
}
console.log(`consuming ${filter} from ${stream} as durable ${durable}`);

for await (const m of messages) {
  let event;
  try {
    event = HTTP.toEvent({
      headers: { "content-type": m.headers?.get("Content-Type") || "" },
      body: m.string(),
    });
    event.validate(); // specversion, id, source, type present and well formed
  } catch (err) {
    // Not a CloudEvent: redelivering it would fail the same way, so it is terminated.
    console.log(`not a CloudEvent on ${m.subject} seq=${m.seq}: ${err.message}`);
    m.term(`not a CloudEvent: ${err.message}`);
    continue;
  }
  try {
    await handle(event, m.seq);
  } catch (err) {
    console.log(`handling ${event.id} failed, redelivering: ${err.message}`);
    m.nak(5_000);
    continue;
  }
  // ackAck waits for the server's confirmation, so "acked" below means JetStream has the ack.
  await m.ackAck();
  console.log(`acked id=${event.id} seq=${m.seq}`);
}
await nc.drain();
