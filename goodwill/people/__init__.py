"""People: the persons behind the posts, across networks, and what the team does with them.

``service.People`` is what the CLI, the web pages and the API call; ``privacy`` exports and
forgets a person; ``standing`` and ``advocacy`` are the documented rules (docs/people.md).
"""

from goodwill.people.service import (
    CASE_STEPS,
    LIST_FILTERS,
    NURTURE_ACTIONS,
    ROLES,
    CaseView,
    People,
    PeopleError,
    PersonView,
    Suggestion,
    TimelineItem,
)

__all__ = [
    "CASE_STEPS",
    "LIST_FILTERS",
    "NURTURE_ACTIONS",
    "ROLES",
    "CaseView",
    "People",
    "PeopleError",
    "PersonView",
    "Suggestion",
    "TimelineItem",
]
