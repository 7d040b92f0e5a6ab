"""Limits on the shape of a document: depth and aliases.

The validation rules are built once: ValidationCache keys its cache on the rule
classes, so rules made afresh per request would miss the cache every time.
"""

from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, QueryDepthLimiter

MAX_DEPTH = 12
MAX_ALIASES = 30

_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


class DocumentLimits(AddValidationRules):
    def __init__(self) -> None:
        super().__init__(_RULES)
