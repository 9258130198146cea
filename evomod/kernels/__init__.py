"""Numba kernels: small pure functions over packed population arrays.

They know nothing of DEAP or configs. Kernels that draw random numbers take a
numpy ``Generator`` so that every draw comes from the run's one seed.
"""
