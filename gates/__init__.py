"""Quality gates: check the generated site with real tools.

`python -m gates` (or `make gates`) builds the sample site and the full
fixture site, serves them with nginx and runs the gates: the Nu Html Checker,
a link crawler, feed and sitemap checks, axe-core in headless Chromium and
screenshots. Each gate module also works on any hand-made tree, which is how
tests/test_gates.py shows that every gate catches a planted defect.
"""

from gates.core import Finding, GateResult, Site

__all__ = ["Finding", "GateResult", "Site"]
