"""The breach register (avvik): reasons and corrective actions for late/overdue obligations."""

from frister.breaches.service import (
    BreachKey,
    BreachRow,
    explain,
    import_reasons,
    list_breaches,
    reasons_by_key,
)

__all__ = ["BreachKey", "BreachRow", "explain", "import_reasons", "list_breaches", "reasons_by_key"]
