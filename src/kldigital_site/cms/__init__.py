"""Editing in the browser: Decap CMS, its configuration generated from the schema, and
the preview's local backend (Decap's proxy protocol)."""
