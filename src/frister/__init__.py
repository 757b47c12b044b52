"""frister: deadline tracking and internal control for Norwegian child-welfare services."""

__version__ = "0.1.0"
