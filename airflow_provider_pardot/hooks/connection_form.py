"""
The ``pardot`` connection form as wtforms fields: what Airflow 2.11 and the 3.0/3.1 UI read.

Airflow 3.2+ reads the form from ``conn-fields`` in the provider info instead; both are built from
:data:`~airflow_provider_pardot.get_provider_info.CONN_FIELDS`, so the two forms show the same
fields. Airflow accepts only four field classes here (``StringField``, ``PasswordField``,
``IntegerField``, ``BooleanField``: any other drops the whole hook from the providers' list), so a
field with a fixed set of values (``"enum"`` in its schema) is a ``StringField`` that:

- is drawn as a drop-down by :class:`ChoiceWidget` (Airflow 2.11's form), an empty first option
  leaving the value unset;
- carries an ``any_of`` validator, from which the 3.0/3.1 UI draws its own drop-down, and which
  refuses any other value when the form is saved.
"""

from __future__ import annotations

from typing import Any

#: The label of the empty first option of a drop-down.
UNSET_LABEL = "(not set)"


class ChoiceWidget:
    """
    Draw a text field as a ``<select>`` of fixed values, with an empty first option.

    :param values: the values offered, in order (each shown as it is stored)
    """

    def __init__(self, values: list[str]) -> None:
        self.values = values

    def __call__(self, field: Any, **kwargs: Any) -> Any:
        from markupsafe import Markup, escape
        from wtforms.widgets import html_params

        kwargs.setdefault("id", field.id)
        kwargs["class"] = f"form-control {kwargs.get('class', '')}".strip()
        current = field.data or ""
        options = [
            f"<option {html_params(value=value, selected=value == current)}>{escape(label)}</option>"
            for value, label in [("", UNSET_LABEL), *((v, v) for v in self.values)]
        ]
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{''.join(options)}</select>")


def legacy_form_widgets() -> dict[str, Any]:
    """The extra fields of the ``pardot`` connection form, as ``get_connection_form_widgets`` returns them."""
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import PasswordField, StringField
    from wtforms.validators import Optional, any_of

    from airflow_provider_pardot.get_provider_info import CONN_FIELDS

    widgets: dict[str, Any] = {}
    for name, spec in CONN_FIELDS.items():
        schema = spec["schema"]
        label = lazy_gettext(spec["label"])
        description = spec.get("description", "")
        if schema.get("format") == "password":
            widgets[name] = PasswordField(label, widget=BS3PasswordFieldWidget(), description=description)
        elif "enum" in schema:
            widgets[name] = StringField(
                label,
                widget=ChoiceWidget(schema["enum"]),
                validators=[Optional(), any_of(schema["enum"])],
                description=description,
            )
        else:
            widgets[name] = StringField(label, widget=BS3TextFieldWidget(), description=description)
    return widgets
