"""Standard Webhooks verification as avatarbus's routes sign (standard library only).

webhook-signature = "v1," + base64(HMAC-SHA256(key, f"{id}.{timestamp}.".encode() + body)),
key = the base64-decoded part of the secret after "whsec_". Spec:
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
"""
import base64
import hashlib
import hmac
import time

TOLERANCE_SECONDS = 5 * 60  # the spec's 5 minutes, either way


def secret_key(secret: str) -> bytes:
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    if not key:
        raise ValueError("the secret is empty after whsec_")
    return key


def verify(key: bytes, headers, body: bytes, now: float | None = None) -> str | None:
    """Returns None for a genuine request, else the reason it is not.

    headers is any mapping with case-insensitive .get (http.server's message, a dict of lower-case
    names); body the raw bytes as received (the signature covers them, so never re-serialize)."""
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not msg_id or not ts or not sigs:
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    if not ts.isdigit():
        return "webhook-timestamp is not a number of seconds"
    now = time.time() if now is None else now
    if abs(now - int(ts)) > TOLERANCE_SECONDS:
        return "webhook-timestamp is too far from now"
    expected = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    # Several space-separated signatures may be sent (during a secret rotation).
    for part in sigs.split(" "):
        version, _, b64 = part.partition(",")
        if version != "v1" or not b64:
            continue
        try:
            got = base64.b64decode(b64, validate=True)
        except ValueError:
            continue
        if hmac.compare_digest(got, expected):
            return None
    return "no matching v1 signature"
