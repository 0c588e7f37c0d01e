"""Markdown bodies: the configured renderer, its sanitising and scan limits, and the
per-build rendering of every body (cached, over worker processes)."""
