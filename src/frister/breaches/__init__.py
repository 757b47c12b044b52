"""The breach register (avvik): reasons and corrective actions for late/overdue obligations."""

from frister.breaches.service import (
    BreachKey,
    BreachRow,
    acknowledge,
    deviation_counts,
    explain,
    import_reasons,
    list_breaches,
    reasons_by_key,
    set_status,
)

__all__ = ["BreachKey", "BreachRow", "acknowledge", "deviation_counts", "explain", "import_reasons", "list_breaches",
           "reasons_by_key", "set_status"]
