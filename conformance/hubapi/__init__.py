"""The hub target: a DHI hub API at a URL (spec §13: REST, WebSocket, auth, problem+json, WoT TD)."""
