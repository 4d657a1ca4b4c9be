// Standard Webhooks verification (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md),
// as avatarbus's routes sign: webhook-signature = "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)),
// key = the base64-decoded part of the secret after "whsec_". Any Standard Webhooks library does the
// same; this one is written out with node:crypto so that nothing is hidden.
import { createHmac, timingSafeEqual } from "node:crypto";

// Tolerance is how far webhook-timestamp may be from now, either way, in seconds (the spec's 5 minutes).
export const TOLERANCE_SECONDS = 5 * 60;

// secretKey decodes a "whsec_<base64>" secret into the HMAC key.
export function secretKey(secret) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  if (key.length === 0) {
    throw new Error("the secret is empty or not base64 after whsec_");
  }
  return key;
}

// verify checks one request: headers is a lower-case header map, body the raw bytes (a Buffer; the
// signature covers the bytes as sent, so the body must not be parsed and re-serialized first). It
// returns null when the request is genuine, else the reason it is not.
export function verify(key, headers, body, nowSeconds = Math.floor(Date.now() / 1000)) {
  const id = headers["webhook-id"];
  const ts = headers["webhook-timestamp"];
  const sigs = headers["webhook-signature"];
  if (!id || !ts || !sigs) {
    return "missing webhook-id, webhook-timestamp or webhook-signature";
  }
  if (!/^\d+$/.test(ts)) {
    return "webhook-timestamp is not a number of seconds";
  }
  if (Math.abs(nowSeconds - Number(ts)) > TOLERANCE_SECONDS) {
    return "webhook-timestamp is too far from now";
  }
  const expected = createHmac("sha256", key).update(`${id}.${ts}.`).update(body).digest();
  // The header may carry several space-separated signatures (during a secret rotation).
  for (const part of sigs.split(" ")) {
    const [version, b64] = part.split(",", 2);
    if (version !== "v1" || !b64) {
      continue;
    }
    const got = Buffer.from(b64, "base64");
    if (got.length === expected.length && timingSafeEqual(got, expected)) {
      return null;
    }
  }
  return "no matching v1 signature";
}
