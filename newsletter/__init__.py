"""newsletter: publish a newsletter from files."""

__version__ = "0.1.0"
