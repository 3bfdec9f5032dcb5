"""Secrets at rest: agent/supervisor password hashes and integrator API key digests.

Pure standard library (``hashlib``, ``hmac``, ``secrets``); no AWS, no tables.
"""
