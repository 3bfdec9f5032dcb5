"""The REST API, free of any web framework: declared endpoints (``endpoints``), one request path and
one error mapping (``routes``), and ``docs/openapi.json`` generated from both (``openapi``)."""
