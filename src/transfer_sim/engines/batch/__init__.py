"""The ``batch`` engine (issue 13), in progress: the model compiled to array code.

``model/transfer.mdl`` is parsed by PySD's Vensim parser (its ``AbstractModel``),
rewritten as a JSON intermediate form (:mod:`.ir`) and evaluated on arrays with a
run axis (:mod:`.program`, :mod:`.simulate`), on NumPy or JAX. Not yet registered
as an engine: the JAX compilation, the on-disk cache, ``run_batch`` and gradients
are still to come.
"""
