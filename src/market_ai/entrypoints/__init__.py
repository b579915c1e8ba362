"""Entrypoints: HTTP app, worker and CLI; they translate, the domain decides."""
