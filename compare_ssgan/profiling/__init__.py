"""Measuring computations: the FLOPs a traced function executes and its kernel time by op type."""
