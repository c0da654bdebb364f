"""Tools for testing code built on ``custservice``, and for plugin authors.

``custservice.testing.strategies`` holds Hypothesis strategies for every
domain object. Importing this package needs ``hypothesis`` (and ``pytest``
for the conformance kit), which the library itself does not.
"""
