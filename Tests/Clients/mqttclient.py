#!/usr/bin/env python3
"""An independent MQTT client (paho-mqtt) for the bridge tests: it subscribes to the broker the
hub bridges into and reports what it received, as one JSON document on stdout.

Usage:
  mqttclient.py watch PORT FILTER [FILTER...] [--seconds S] [--until-topic T --until-payload P]
                [--settle S] [--ready FILE] [--tls CA CERT KEY] [--auth USER PASSWORD]
      Subscribes; stops after --seconds, after --count messages, or once T carried P, or once nothing arrived
      for --settle seconds after the first message (P "*": any payload). Prints {"count": N, "latest": {topic:
      {"payload": text, "retain": bool, "json": parsed-or-null}}, "first": [...up to 20...]}.
      With --ready, touches FILE once subscribed.
  publish PORT TOPIC PAYLOAD [--retain] [--tls CA CERT KEY] [--auth USER PASSWORD]
      Publishes one message (QoS 1, retained with --retain) and prints {"published": true}.
  --auth: the username and password to connect with (brokers with allow_anonymous false).
"""

import argparse
import json
import os
import ssl
import sys
import threading
import time

import paho.mqtt.client as mqtt


def make_client(args, name):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{os.getpid()}", clean_session=True)
    if args.tls:
        ca, cert, key = args.tls
        client.tls_set(ca_certs=ca, certfile=cert, keyfile=key, cert_reqs=ssl.CERT_REQUIRED)
    if args.auth:
        client.username_pw_set(*args.auth)
    return client


def decode(payload):
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.hex(), None
    try:
        return text, json.loads(text)
    except ValueError:
        return text, None


def watch(args):
    latest = {}
    first = []
    lock = threading.Lock()
    state = {"count": 0, "last": None, "done": False}
    subscribed = threading.Event()

    def on_connect(client, userdata, flags, reason, properties):
        client.subscribe([(f, 1) for f in args.filters])

    def on_subscribe(client, userdata, mid, reasons, properties):
        subscribed.set()

    def on_message(client, userdata, message):
        text, parsed = decode(message.payload)
        with lock:
            state["count"] += 1
            state["last"] = time.monotonic()
            latest[message.topic] = {"payload": text, "retain": bool(message.retain), "json": parsed}
            if len(first) < 20:
                first.append({"topic": message.topic, "payload": text, "retain": bool(message.retain)})
            if args.until_topic and message.topic == args.until_topic and args.until_payload in (None, "*", text):
                state["done"] = True
            if args.count and state["count"] >= args.count:
                state["done"] = True

    client = make_client(args, "plenum-test-watch")
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect("127.0.0.1", args.port, keepalive=30)
    client.loop_start()
    if not subscribed.wait(15):
        print("not subscribed within 15 s", file=sys.stderr)
        sys.exit(2)
    if args.ready:
        open(args.ready, "w").close()
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        with lock:
            if state["done"]:
                break
            if args.settle and state["last"] and time.monotonic() - state["last"] > args.settle:
                break
        time.sleep(0.02)
    client.loop_stop()
    client.disconnect()
    with lock:
        print(json.dumps({"count": state["count"], "latest": latest, "first": first, "done": state["done"]}))


def publish(args):
    client = make_client(args, "plenum-test-pub")
    client.connect("127.0.0.1", args.port, keepalive=30)
    client.loop_start()
    info = client.publish(args.topic, args.payload.encode(), qos=1, retain=args.retain)
    info.wait_for_publish(10)
    client.loop_stop()
    client.disconnect()
    print(json.dumps({"published": info.is_published()}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("watch")
    w.add_argument("port", type=int)
    w.add_argument("filters", nargs="+")
    w.add_argument("--seconds", type=float, default=10)
    w.add_argument("--settle", type=float, default=0)
    w.add_argument("--until-topic")
    w.add_argument("--until-payload")
    w.add_argument("--ready")
    w.add_argument("--count", type=int, default=0)
    w.add_argument("--tls", nargs=3)
    w.add_argument("--auth", nargs=2)
    p = sub.add_parser("publish")
    p.add_argument("port", type=int)
    p.add_argument("topic")
    p.add_argument("payload")
    p.add_argument("--retain", action="store_true")
    p.add_argument("--tls", nargs=3)
    p.add_argument("--auth", nargs=2)
    args = parser.parse_args()
    if args.command == "watch":
        watch(args)
    else:
        publish(args)


if __name__ == "__main__":
    main()
