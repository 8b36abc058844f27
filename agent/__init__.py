"""Switchboard: answer Twilio phone calls with an AI agent built on pipecat graphs."""

__version__ = "0.1.0"
