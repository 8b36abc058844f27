"""Where Switchboard touches pipecat beyond its public API: one module per pipecat area."""
