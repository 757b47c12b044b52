"""Import every model module so ``Base.metadata`` knows every table (Alembic, tests)."""

from frister.evaluation import models as _evaluation  # noqa: F401
from frister.store import tables as _store  # noqa: F401
from frister.nightly import models as _nightly  # noqa: F401
from frister.escalation import models as _escalation  # noqa: F401
from frister.web import models as _web  # noqa: F401
from frister.db.base import Base

metadata = Base.metadata
