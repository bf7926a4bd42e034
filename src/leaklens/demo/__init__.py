"""The demo leak: a fictional campaign's mailboxes and documents, with planted forgeries.

`generate_demo(out_dir, seed=2017)` writes it and returns a `DemoManifest`
saying what each planted item is and which verdict and findings leaklens
should give it.
"""

from .generate import DemoManifest, generate_demo

__all__ = ["DemoManifest", "generate_demo"]
