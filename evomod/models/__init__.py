"""Network models: the layered tanh networks of Clune et al. 2013, and the
NAND circuits and threshold networks of Kashtan & Alon 2005."""
