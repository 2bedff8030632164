"""Bad input is refused before any request, with a message that says what to change."""

from __future__ import annotations

import pytest
from import_helpers import CAMPAIGN, LIST_A, api_log, audience, write_csv

from airflow_provider_pardot.exceptions import PardotValidationError
from airflow_provider_pardot.transfers.object_storage_to_pardot import ObjectStorageToPardotOperator

GOOD = ["email", "matchEmail", "firstName", "campaignId"]


def _good_rows(n: int = 3) -> list[list]:
    return [[e, e, f, c] for e, f, _, c in audience(n)]


def _cases(tmp_path):
    """name -> (operator keyword arguments, a piece of the expected message)."""
    good = write_csv(tmp_path / "good.csv", GOOD, _good_rows())
    snake = write_csv(
        tmp_path / "snake.csv", ["email", "first_name", "campaign_id"], [["a@b.co", "A", CAMPAIGN]]
    )
    empty_folder = tmp_path / "empty"
    empty_folder.mkdir()
    header_only = write_csv(tmp_path / "header_only.csv", GOOD, [])
    mixed = tmp_path / "mixed"
    write_csv(mixed / "a.csv", GOOD, _good_rows())
    write_csv(
        mixed / "b.csv", ["email", "matchEmail", "lastName", "campaignId"], [["a@b.co", "a@b.co", "L", 1]]
    )
    match_all = {"email": ["email", "matchEmail"]}
    return {
        "empty folder": ({"source": empty_folder}, "Nothing to import"),
        "missing source": ({"source": tmp_path / "nope.csv"}, "Nothing to import"),
        "header only": ({"source": header_only}, "holds no rows"),
        "snake_case column": (
            {"source": snake, "columns": match_all},
            "columns={'first_name': 'firstName'}",
        ),
        "never imported": (
            {"source": good, "columns": {"firstName": "optedOut"}},
            "never imports the field optedOut",
        ),
        "two match columns": (
            {"source": good, "columns": {"email": ["email", "matchId"]}},
            "Only one match column",
        ),
        "no match column": ({"source": good, "columns": {"matchEmail": None}}, "Every row must be matched"),
        "create without campaignId": (
            {"source": good, "columns": {"campaignId": None}, "create_on_no_match": True},
            "campaignId",
        ),
        "unknown rename": ({"source": good, "columns": {"mail": "email"}}, "the source does not have"),
        "bad list id": ({"source": good, "add_to_lists": [LIST_A, "x"]}, "'x' is not a Pardot list id"),
        "zero list id": ({"source": good, "remove_from_lists": [0]}, "not a Pardot list id"),
        "21 lists": ({"source": good, "add_to_lists": list(range(1, 22))}, "at most 20"),
        "add and remove one list": (
            {"source": good, "add_to_lists": [LIST_A], "remove_from_lists": [LIST_A]},
            "both in add_to_lists and remove_from_lists",
        ),
        "files differ": ({"source": mixed}, "every file of a source must have the same columns"),
        "duplicate column": (
            {"source": good, "columns": {"matchEmail": ["matchEmail", "MATCHEMAIL"]}},
            "appears twice",
        ),
        "create flag not boolean": ({"source": good, "create_on_no_match": "perhaps"}, "true or false"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "empty folder",
        "missing source",
        "header only",
        "snake_case column",
        "never imported",
        "two match columns",
        "no match column",
        "create without campaignId",
        "unknown rename",
        "bad list id",
        "zero list id",
        "21 lists",
        "add and remove one list",
        "files differ",
        "duplicate column",
        "create flag not boolean",
    ],
)
def test_refused_with_no_request(pardot, tmp_path, context, case):
    kwargs, expected = _cases(tmp_path)[case]
    kwargs["source"] = str(kwargs["source"])
    op = ObjectStorageToPardotOperator(task_id="import", poll_interval=0.01, **kwargs)
    with pytest.raises(PardotValidationError) as err:
        op.execute(context)
    assert expected in str(err.value)
    assert api_log(pardot) == []


def test_constructor_refuses_what_cannot_be_templated():
    with pytest.raises(ValueError, match="max_error_rate"):
        ObjectStorageToPardotOperator(task_id="t", source="/x.csv", max_error_rate=2)
    with pytest.raises(ValueError, match="file_format"):
        ObjectStorageToPardotOperator(task_id="t", source="/x.csv", file_format="xlsx")
