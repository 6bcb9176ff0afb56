"""Import and export of the four working tables (CSV, XLSX, JSON, Markdown).

Knows nothing of Textual; the SQL lives in :mod:`tuicrm.core.store.bulk`.
"""

from tuicrm.core.io.api import ImportPlan, Preview, export_file, import_file, plan_import, preview

__all__ = ["ImportPlan", "Preview", "export_file", "import_file", "plan_import", "preview"]
