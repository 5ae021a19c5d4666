"""Drop-in ``ModelNew`` classes for KernelBench problems: ``from tilekernels.kernelbench.bmm import ModelNew``."""
