"""The preview: watching files, rebuilding, answering requests with live reload.

A leaf of the pipeline, like MkDocs' ``livereload``: it only calls ``build``.
"""
