"""Implementations of ``vkyc.services.ports`` on AWS services."""
