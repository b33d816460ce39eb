"""Inbound requests: authentication (auth) and format adapters (adapters, typeform, flat)."""
