"""The resident web app, served by the hub's API server at ``/``.

``ApiService(extensions=[install])`` adds the pages, the static files and the session
endpoints (pairing code -> session cookie) to the API's aiohttp app. The pages talk only to
the public API (``/api/v1``); a session cookie is accepted there in place of a bearer token,
with an ``X-CSRF-Token`` header on every state-changing request (``hub.webapp.session``).
"""

from hub.webapp.routes import install

__all__ = ["install"]
