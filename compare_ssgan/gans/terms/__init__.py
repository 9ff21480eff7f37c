"""Auxiliary terms: one file per paper idea, added to the GAN by `GAN.auxiliary_terms`.

`base.py` is the interface; every other module here is imported now, so that its gin
configurables are registered by importing this package: a new term file needs no edit
anywhere else to be seen by gin.
"""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
  importlib.import_module(f"{__name__}.{_module.name}")
