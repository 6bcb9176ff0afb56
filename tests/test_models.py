"""Models: field validation names the field and the value; text is cleaned."""

from __future__ import annotations

import datetime as dt

import pytest

from tuicrm.core.models import Contact, Customer, FollowUp, InvalidInput, Tag


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "A", "first_deal_date": "2023-13-45"},
         "first_deal_date: '2023-13-45' is not a date"),
        ({"name": "A", "last_deal_date": "yesterday"}, "last_deal_date: 'yesterday' is not a date"),
        ({"name": "A", "total_amount": "a lot"}, "total_amount: 'a lot' is not an amount"),
        ({"name": "A", "total_amount": -5}, "total_amount: -5 is negative"),
        ({"name": ""}, "name:"),
        ({"name": "A", "kind": "robot"}, "kind: 'robot'"),
        ({"name": "A", "employees": -1}, "employees: -1"),
        ({"name": "A", "colour": "red"}, "colour:"),
        ({"name": "x" * 201}, "name:"),
    ],
)
def test_bad_customer_values_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Customer.parse(data)
    assert any(m.startswith(message) for m in caught.value.messages), caught.value.messages


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("A科技\x1b]52;c;SGVsbG8=\x07有限公司", "A科技]52;c;SGVsbG8=有限公司"),
        ("B商贸\x9b31m公司", "B商贸31m公司"),
        ("  C个体工作室  ", "C个体工作室"),
        ("tab\tinside", "tab inside"),
        ("[bold]x[/]", "[bold]x[/]"),
        ("Acme [/] Corp", "Acme [/] Corp"),
    ],
)
def test_names_lose_control_characters_and_keep_markup_as_text(raw: str, stored: str) -> None:
    assert Customer.parse({"name": raw}).name == stored


def test_notes_keep_newlines_and_tabs_but_not_escapes() -> None:
    followup = FollowUp.parse({"date": "2024-02-20", "method": "电话",
                               "content": "line one\n\tline two\x1b[2J"})
    assert followup.content == "line one\n\tline two[2J"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2024-02-29", dt.date(2024, 2, 29)), ("-", None), ("", None), (None, None)],
)
def test_dates(value: str | None, expected: dt.date | None) -> None:
    assert Customer.parse({"name": "A", "first_deal_date": value}).first_deal_date == expected


def test_leap_day_outside_a_leap_year_is_refused() -> None:
    with pytest.raises(InvalidInput, match="2023-02-29"):
        Customer.parse({"name": "A", "first_deal_date": "2023-02-29"})


@pytest.mark.parametrize(("value", "yuan"), [(800000, 800000), ("1,250", 1250), (None, 0)])
def test_money_is_integer_yuan(value: object, yuan: int) -> None:
    assert Customer.parse({"name": "A", "total_amount": value}).total_amount == yuan


def test_followup_needs_date_method_and_content() -> None:
    with pytest.raises(InvalidInput) as caught:
        FollowUp.parse({"date": None, "method": "", "content": ""})
    fields = {m.split(":")[0] for m in caught.value.messages}
    assert fields == {"date", "method", "content"}


def test_todo_due_dates_are_checked_inside_a_followup() -> None:
    with pytest.raises(InvalidInput, match=r"todos\.0\.due: '5月19日' is not a date"):
        FollowUp.parse({"date": "2024-05-12", "method": "电话", "content": "演示",
                        "todos": [{"text": "邮寄手册", "due": "5月19日"}]})


@pytest.mark.parametrize(
    ("text", "dimension", "value"),
    [("value:高价值", "value", "高价值"), ("重点客户", "tag", "重点客户"),
     (" need : 工业设备 ", "need", "工业设备")],
)
def test_tags_parse_dimension_and_value(text: str, dimension: str, value: str) -> None:
    tag = Tag.from_text(text)
    assert (tag.dimension, tag.value, str(tag)) == (dimension, value, f"{dimension}:{value}")


def test_contact_role_is_one_of_the_decision_chain_roles() -> None:
    assert Contact.parse({"name": "张总", "role": "decision-maker"}).role == "decision-maker"
    with pytest.raises(InvalidInput, match="role"):
        Contact.parse({"name": "张总", "role": "boss"})
