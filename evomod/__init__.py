"""evomod: evolve networks and circuits under modularly varying goals and
connection costs, and measure how modular they become."""

__version__ = "0.1.0"
