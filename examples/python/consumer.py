"""A durable JetStream pull consumer of avatarbus events (nats-py + the CloudEvents SDK).

The Python twin of examples/node/consumer.js: every finished video from every platform, each message
parsed as a structured CloudEvent and acknowledged after it was handled.

    NATS_CREDENTIALS_FILE=../../data/jetstream/nats-credentials.json python consumer.py

Settings (environment): NATS_URL (nats://127.0.0.1:4222), NATS_USER (consumer), NATS_PASSWORD or
NATS_CREDENTIALS_FILE, STREAM (AVATAR), DURABLE (py-mailer), FILTER (avatar.video.completed.*).
"""
import asyncio
import json
import os
import signal

import nats
from nats.errors import TimeoutError as FetchTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from cloudevents.http import from_http

STREAM = os.environ.get("STREAM", "AVATAR")
DURABLE = os.environ.get("DURABLE", "py-mailer")
FILTER = os.environ.get("FILTER", "avatar.video.completed.*")


def login():
    user = os.environ.get("NATS_USER", "consumer")
    if os.environ.get("NATS_PASSWORD"):
        return user, os.environ["NATS_PASSWORD"]
    path = os.environ.get("NATS_CREDENTIALS_FILE")
    if path:
        # {"avatarbus": {...}, "consumer": {"user": ..., "password": ...}}, written by avatarbus.
        with open(path) as f:
            u = json.load(f)[user]
        return u["user"], u["password"]
    raise SystemExit("set NATS_PASSWORD or NATS_CREDENTIALS_FILE (the embedded NATS refuses anonymous clients)")


async def handle(event, seq):
    # Must be idempotent on event["id"]: JetStream delivers at least once.
    print(f"event type={event['type']} subject={event.get('subject')} id={event['id']} "
          f"platform={event.get('platform')} seq={seq}", flush=True)


async def main():
    user, password = login()
    nc = await nats.connect(os.environ.get("NATS_URL", "nats://127.0.0.1:4222"),
                            user=user, password=password, name="avatarbus-python-example")
    js = nc.jetstream()
    # Idempotent while the configuration does not change; the durable keeps its place across restarts.
    await js.add_consumer(STREAM, ConsumerConfig(
        durable_name=DURABLE, filter_subject=FILTER, ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL, ack_wait=30, max_deliver=10))
    sub = await js.pull_subscribe_bind(DURABLE, stream=STREAM)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"consuming {FILTER} from {STREAM} as durable {DURABLE}", flush=True)

    while not stop.is_set():
        try:
            msgs = await sub.fetch(batch=16, timeout=5)
        except FetchTimeout:
            continue
        for m in msgs:
            seq = m.metadata.sequence.stream
            try:
                headers = {"content-type": (m.headers or {}).get("Content-Type", "")}
                event = from_http(headers, m.data)
            except Exception as err:  # not a CloudEvent: a redelivery would fail the same way
                print(f"not a CloudEvent on {m.subject} seq={seq}: {err}", flush=True)
                await m.term()
                continue
            try:
                await handle(event, seq)
            except Exception as err:
                print(f"handling {event['id']} failed, redelivering: {err}", flush=True)
                await m.nak(delay=5)
                continue
            await m.ack_sync()  # waits for the server's confirmation
            print(f"acked id={event['id']} seq={seq}", flush=True)
    await nc.drain()


if __name__ == "__main__":
    asyncio.run(main())
