"""Call records: every call, its turns, its extraction snapshots, written as the call goes.

models.py     the tables and the ordered schema migrations
store.py      the database (SQLite file or Postgres, SQLAlchemy 2 async): migrate, write, read
writer.py     one writer task per process, fed by a bounded queue; calls only enqueue
turns.py      TurnTracker: which turns a call had, from a few frames and pipecat events
recorder.py   the `call_recorder` tap: call started, each turn, call ended -> the writer
runtime.py    what the server starts and stops: store, writer, extractor, record delivery
"""
