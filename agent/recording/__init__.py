"""Call recording: both sides of a call, from the media stream itself, as a stereo WAV.

    service.py    Recordings: the folder, the file thread, retention (one per process)
    call.py       CallRecording: one call's tape, link, tap and file
    tape.py       CallTape: the caller (as delivered) and the agent (as played) on one clock
    link.py       RecordingLink (a MediaLink around the transport) and the caller tap
    wav.py        WavAppender: a WAV written in blocks, readable after a crash
    retention.py  RECORDING_RETENTION_DAYS

README.md "Recording" says what is recorded and how to get it.
"""
