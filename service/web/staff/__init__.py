"""The staff side of the web app: the pages' shared look and headers (``pages``), who may see
them (``access``: staff accounts with a session, or the demo's shared password), signing in
and out (``login``) and the forms' guards (``forms``). The preview and results pages build on
these; the block editor is ``editor_pages`` with its form, usage list, preview and release rules
(imported by the app itself: it builds on the preview).

May import: what ``service.web`` may (``service.staff`` for the accounts, among them)."""

from service.web.staff.access import PASSWORD_SETTING, StaffAccess, authorize_staff, is_loopback
from service.web.staff.pages import PREFIX, RESULTS_PREFIX, STAFF_HEADERS, is_staff_path, page

__all__ = ["PASSWORD_SETTING", "PREFIX", "RESULTS_PREFIX", "STAFF_HEADERS", "StaffAccess", "authorize_staff",
           "is_loopback", "is_staff_path", "page"]
