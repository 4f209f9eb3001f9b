"""An example DHI-MQTT device written as a vendor would (a smoke alarm and a smart plug).

Run: ``python -m examples.vendor_device --broker mqtt://localhost:1883 --kind smoke_alarm
--device kitchen-smoke-1``; test: ``dhome conformance device --broker … --device
kitchen-smoke-1 --client-id acme-kitchen-smoke-1 --claims examples/vendor_device/claims/smoke-alarm.yaml``.
"""

from examples.vendor_device.device import PRODUCTS, Refused, SmartPlug, SmokeAlarm, VendorDevice

__all__ = ["PRODUCTS", "Refused", "SmartPlug", "SmokeAlarm", "VendorDevice"]
