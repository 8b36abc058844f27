"""agent/twilio/twiml.py: the answers are the XML Twilio expects, escaped, nothing extra."""

import xml.etree.ElementTree as ET

from agent.twilio import twiml


def test_connect_stream_has_the_url_and_parameters_in_order_and_nothing_after():
    xml = twiml.connect_stream(
        "wss://host.example/ws", {"graph": "receptionist", "from": "+15550001111", "to": ""}
    )
    root = ET.fromstring(xml)
    assert root.tag == "Response" and [c.tag for c in root] == ["Connect"]
    [stream] = list(root[0])
    assert stream.tag == "Stream" and stream.get("url") == "wss://host.example/ws"
    assert [(p.get("name"), p.get("value")) for p in stream] == [
        ("graph", "receptionist"),
        ("from", "+15550001111"),
        ("to", ""),
    ]


def test_connect_stream_is_byte_for_byte_what_the_webhook_always_answered():
    assert twiml.connect_stream("wss://h/ws", {"graph": "g"}) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
        '<Stream url="wss://h/ws"><Parameter name="graph" value="g" /></Stream>'
        "</Connect></Response>"
    )


def test_parameter_values_are_escaped():
    xml = twiml.connect_stream("wss://h/ws?a=1&b=2", {"from": '<"caller"> & co'})
    stream = ET.fromstring(xml)[0][0]
    assert stream.get("url") == "wss://h/ws?a=1&b=2"
    assert stream[0].get("value") == '<"caller"> & co'


def test_say_and_hang_up():
    root = ET.fromstring(twiml.say_and_hang_up("Sorry & goodbye."))
    assert [(c.tag, c.text) for c in root] == [("Say", "Sorry & goodbye."), ("Hangup", None)]
