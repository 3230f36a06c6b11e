"""Reading submitted forms: text as typed (trimmed), repeated fields as lists. Values that are not text (an
uploaded file under a text field's name) read as empty."""

from __future__ import annotations

from typing import Any


def form_text(form: Any, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def form_list(form: Any, key: str, *, keep_empty: bool = False) -> list[str]:
    """Every value of a repeated field, trimmed. `keep_empty`: blanks stay, so rows of fields keep their
    positions (a table of stakeholders); otherwise blanks are dropped (ticked checkboxes)."""
    if key not in form:
        return []
    values = [v.strip() if isinstance(v, str) else "" for v in form.getall(key)]
    return values if keep_empty else [v for v in values if v]
