"""The hub API (DESIGN §5): REST + WebSocket under ``/api/v1``, scoped bearer tokens, /metrics.

``spec/interface/openapi.yaml`` (REST) and ``spec/interface/asyncapi.yaml`` (WebSocket) are
normative; ``hub.api.routes.ENDPOINTS`` is the one table of routes and the scope each needs.
The service to add to a hub is ``hub.api.server.ApiService``.
"""
