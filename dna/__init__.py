"""DNA: differentiable network-accelerator co-search, carried through to hardware."""
__version__ = "0.1.0"
