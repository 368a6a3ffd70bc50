"""The core: one document in, one validated and grounded answer out.

Rooms: `schema` (the contract), `prompts`, `settings`, `documents` (inputs), `pipeline`
(the `Extractor`), `chunking` and `merging` (long documents and joined answers), `meta`
(run metadata), and the packages `backends/` (who answers), `calls/` (how one structured
call is made, retried, continued and accounted), `cache/` (keys, disk, Redis) and
`grounding/` (keeping answers to the text). Nothing here imports an upper layer.
"""
