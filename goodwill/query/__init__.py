"""The query language: Boolean topic queries in the Brandwatch family, and matching them fast.

Why a package of its own on the second floor: topics, the pipeline, the web UI's query editor
and the CLI all need the same parser and the same matching rules, and none of it does I/O.
Users' documentation: docs/query-language.md.

    >>> q = parse('(late OR delayed) NEAR/5 (delivery OR parcel) NOT lang:de')
    >>> q.matches(Document.build("My parcel is late again", lang="en"))
    True

- :func:`parse` turns text into an immutable :class:`Query` or raises :class:`QuerySyntaxError`
  with a message naming the problem and its column;
- :class:`Document` is a post prepared once for matching (tokens, fields);
- :class:`TopicIndex` matches a post against thousands of queries with an Aho-Corasick
  prefilter, then evaluates only the candidates.
"""

from goodwill.query._document import Document
from goodwill.query._index import TopicIndex
from goodwill.query._lexer import QuerySyntaxError
from goodwill.query._query import Query, parse

__all__ = ["Document", "Query", "QuerySyntaxError", "TopicIndex", "parse"]
