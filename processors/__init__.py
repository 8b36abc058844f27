"""Switchboard's own pipecat frame processors, one concept per module."""
