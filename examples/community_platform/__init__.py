"""A small community / property-company platform that receives dhome alerts by signed webhook,
shows them live to staff (简体中文 / English) and sends acknowledgements back to each hub.

Run it: ``python -m examples.community_platform --config platform.yaml`` (see README.md).
"""
