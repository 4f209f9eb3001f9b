"""``python -m examples.vendor_device``: run one example device until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading

from examples.vendor_device.device import PRODUCTS


def main() -> None:
    parser = argparse.ArgumentParser(description="An example DHI-MQTT device (smoke alarm or smart plug).")
    parser.add_argument("--broker", default="mqtt://localhost:1883")
    parser.add_argument("--kind", choices=sorted(PRODUCTS), default="smoke_alarm")
    parser.add_argument("--device", default="kitchen-smoke-1", help="native id: the topic level")
    parser.add_argument("--home", default="home")
    parser.add_argument("--client-id", default=None, help="MQTT client id (default acme-<device>)")
    args = parser.parse_args()
    device = PRODUCTS[args.kind](args.broker, args.device, home=args.home, client_id=args.client_id)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    with device:
        print(f"{args.kind} {args.device} online at {device.base} (client id {device.client_id})", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
