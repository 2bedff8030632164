"""
The documented parameters of Pardot's email sends, by kind.

Kept apart from :mod:`airflow_provider_pardot.api.emails` (which validates a send against them)
because the send operators build their ``template_fields`` from them: a DAG file that imports an
operator loads these names, not the validation.
"""

from __future__ import annotations

#: Parameters of a one-to-one send (email docs, "Email One-to-One Send"), beside the prospect.
ONE_TO_ONE_PARAMS = (
    "campaign_id",
    "email_template_id",
    "text_content",
    "html_content",
    "name",
    "subject",
    "from_email",
    "from_name",
    "from_user_id",
    "replyto_email",
    "tags",
    "operational_email",
    "scheduled_time",
)
#: Parameters only a list send takes (email docs, "Email List Send").
LIST_ONLY_PARAMS = ("list_ids", "suppression_list_ids", "from_assigned_user", "from_account_owner")
LIST_PARAMS = (*ONE_TO_ONE_PARAMS, *LIST_ONLY_PARAMS)
ARRAY_PARAMS = ("list_ids", "suppression_list_ids", "tags")
BOOLEAN_PARAMS = ("operational_email", "from_assigned_user", "from_account_owner")
ID_PARAMS = ("campaign_id", "email_template_id", "from_user_id")
