"""Web pages for people: Verify, Generate, Review queue and Audit.

A thin shell over the JSON API: the server only sends fixed HTML, CSS and JavaScript; every
piece of data is fetched by the browser from /v1/... with the API key the person entered, so
the pages can do nothing the key could not do with curl.
"""

from service.web.pages import web_router

__all__ = ["web_router"]
