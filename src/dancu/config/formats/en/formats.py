"""Days as Vietnam writes them, day before month, on an English page too (see the package's doc)."""

from dancu.config.formats.vi.formats import DATE_INPUT_FORMATS, DATETIME_INPUT_FORMATS

__all__ = ["DATETIME_INPUT_FORMATS", "DATE_INPUT_FORMATS"]
