"""Reading a calling list: good rows kept, each bad one named by line and column."""

import pytest

from agent.campaigns.contacts_csv import Contact, CsvError, RowError, read_contacts


def test_numbers_variables_and_time_zones():
    text = (
        "number,name,time,timezone\n"
        "+15551234567,Ann,3 pm,America/New_York\n"
        "+44 20 7946 0958,Bob,,\n"
        "\n"
        "+1 (555) 222-3333,Cy,4 pm,Europe/Paris\n"
    )
    contacts, errors = read_contacts(text)
    assert errors == []
    assert contacts == [
        Contact(2, "+15551234567", {"name": "Ann", "time": "3 pm"}, "America/New_York"),
        Contact(3, "+442079460958", {"name": "Bob"}, None),  # an empty cell is no variable
        Contact(5, "+15552223333", {"name": "Cy", "time": "4 pm"}, "Europe/Paris"),
    ]


def test_bad_rows_are_named_and_good_ones_kept():
    text = (
        "number,name,timezone\n"
        "+15551234567,Ann,Europe/Pari\n"
        "555-1234,Bob,\n"
        ",Cy,\n"
        "+15550000001,Di,UTC,extra\n"
        "+15550000002,Ed,UTC\n"
        "+1 555 000 0002,Fay,\n"
    )
    contacts, errors = read_contacts(text)
    assert [c.number for c in contacts] == ["+15550000002"]
    assert [str(e) for e in errors] == [
        "line 2, column timezone: unknown time zone 'Europe/Pari' (an IANA name: Europe/Paris)",
        "line 3, column number: '555-1234' is not a phone number in E.164 (+15551234567)",
        "line 4, column number: no number (+15551234567)",
        "line 5: 4 cells, but 3 columns",
        "line 7, column number: +15550000002 is already on line 6",
    ]
    assert errors[0] == RowError(2, "timezone", errors[0].message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("phone,name\n+15551234567,Ann\n", "the first column should be 'number', not 'phone'"),
        ("number,name,Name\n", "column(s) named twice: name"),
        ("number,,x\n", "column 2 has no name"),
        ("number,first name\n", "column 'first name': a variable name"),
    ],
)
def test_a_file_that_cannot_be_read(text, message):
    with pytest.raises(CsvError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_contacts(text)
