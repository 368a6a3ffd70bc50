"""The core: one document in, one validated and grounded answer out.

Rooms: `schema` (the contract), `prompts`, `settings`, `documents` (inputs), `pipeline`
(the `Extractor`), `chunking` and `merging` (long documents and joined answers), `meta`
(run metadata), and the packages `backends/` (who answers), `calls/` (how one structured
call is made, retried, continued, logged and accounted), `cache/` (keys, disk, Redis),
`grounding/` (keeping answers to the text), `reading/` (the embedded default's rules),
`probe/` (the endpoint check before a run) and `issuers/` (the issuer and authority
registry). Nothing here imports an upper layer.
"""
