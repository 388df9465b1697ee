"""Sources of fabric objects: each reads one place and returns a :class:`~.base.SourceListing`."""
