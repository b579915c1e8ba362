"""Adapters: implementations of the domain's ports, one package per technology."""
