"""Errors shared by modules that must not import each other (the sources and the credential fields)."""


class SourceError(Exception):
    """A source could not be read; the message is shown to operators as the fabric's sync error."""
