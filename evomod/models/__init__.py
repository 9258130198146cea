"""Network models: the layered tanh networks of Clune et al. 2013, and the
NAND circuits and threshold networks of Kashtan & Alon 2005.

A model is one module: a ``NetworkModel`` subclass (``evomod.models.base``)
and its [model] table, a frozen dataclass of config fields registered with
``@MODELS.register(kind)`` (``evomod.registry``). The table has a ``kind``
field defaulting to that name, a ``build(task)`` method returning the model
(refusing, as a ConfigError, settings that do not fit the task), and
optionally ``paper_setup``: config defaults that come with choosing it.
"""
