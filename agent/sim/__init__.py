"""Test-and-simulation kit: provider fakes and the Twilio emulator (reused by tests, bench and the `call` CLI)."""
