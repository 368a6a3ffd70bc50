"""Reading a document by rules: the embedded default's answer, with no model asked.

`cues` (which sentences report a sanctions action), `actors` (who acts in them), `names`
(the names they put in a target's place), `targets` (short forms resolved, each target once)
and `frame` (the draft actions of a document). `calls/guided.py` turns a reading into the
schema's answer.
"""
