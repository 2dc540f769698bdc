"""The ``batch`` engine: the model compiled to array code that advances many runs at once.

``model/transfer.mdl`` is parsed by PySD's Vensim parser (its ``AbstractModel``),
rewritten as a JSON intermediate form (:mod:`.ir`, cached per model hash), laid out as
one row of constants per run (:mod:`.layout`), evaluated on arrays with a run axis
(:mod:`.program`, :mod:`.simulate`; NumPy or JAX) and compiled by ``jax.jit`` for chunks
of runs, with forward-mode derivatives (:mod:`.compiled`). :mod:`.engine` holds the
registered :class:`~transfer_sim.engines.batch.engine.BatchEngine`.
"""
