"""The ``tollway`` command."""
