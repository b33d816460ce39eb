"""Omnicasa API v3 (vendor-docs/omnicasa-contactonme.txt)."""
