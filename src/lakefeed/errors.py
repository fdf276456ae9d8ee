"""The small exception hierarchy every lakefeed command maps to an exit code."""

from __future__ import annotations


class LakefeedError(Exception):
    """Base class: anything lakefeed raises on purpose."""

    exit_code = 1


class ConfigError(LakefeedError):
    """A config file is missing, unreadable or invalid. Nothing has been touched yet."""

    exit_code = 2


class FatalSourceError(LakefeedError):
    """The source refused us for good (bad credentials, forbidden): retrying cannot help."""

    exit_code = 3
