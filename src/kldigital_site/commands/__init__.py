"""Commands besides build and serve: ``new`` (scaffolding) and ``status`` (publication)."""
