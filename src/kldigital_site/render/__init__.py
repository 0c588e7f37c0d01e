"""Rendering: template-facing views of the model, the Jinja environment and per-kind
page contexts, the page loop with its incremental shortcuts, feeds and German dates."""
