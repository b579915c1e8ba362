"""The pure core: entities, use cases and the ports they need. Imports no framework."""
