"""Widgets of the app: the virtual customer table, tag chips."""
