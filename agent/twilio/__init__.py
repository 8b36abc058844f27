"""The Twilio side of a call: Media Streams wire format, signatures, TwiML, the REST API, the
media transport and the send clock. Everything Switchboard says to or hears from Twilio."""
