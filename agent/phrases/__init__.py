"""Phrases the agent says without an LLM: the audio cache, the routes file, intent matching,
and rendering phrases with a graph's TTS."""
