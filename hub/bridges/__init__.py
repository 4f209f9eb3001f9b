"""The built-in bridges (webhook, MQTT uplink, CAP): what they implement is ``hub.delivery``."""
