"""Queries and writes. Every function takes the session first; none commits by itself."""
