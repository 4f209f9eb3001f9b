"""DHI v1 in code: the contract layer of dhome.

Models, catalog loading, the one checker of descriptions and reports, registered error codes,
time formatting and the spec data (``spec/interface`` shipped as package data). It imports
nothing else of dhome, so a vendor or a platform can ``import dhi`` without the hub.
"""
