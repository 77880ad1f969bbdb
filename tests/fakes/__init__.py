"""Local fakes of the providers' APIs, for the connector contract suite.

Each fake answers on a ``FeedServer`` the way its provider documents: the payloads are built
from the fixtures under tests/fixtures/<provider>/ (the providers' own shapes), and it honours
the same paging and cursor parameters, so a connector's cursor is really exercised.
"""
