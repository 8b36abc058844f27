"""Built-in node types: their Params (params.py, plain pydantic) and their builders.

Builders (vad.py, deepgram.py, groq.py, cartesia.py) import pipecat and vendor SDKs inside
the functions, and the registry names them as "module:function" strings, so validating a
graph file never imports a vendor SDK. Keep this package's `__init__` free of imports.
"""
