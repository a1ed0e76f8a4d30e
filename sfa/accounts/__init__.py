"""Users, roles, password hashing, API tokens and browser sessions."""

from sfa.accounts.roles import ROLES, at_least, canonical_role
from sfa.accounts.tokens import ApiToken, create_api_token, list_api_tokens, revoke_api_token
from sfa.accounts.users import EmailTaken, User, create_user, get_user, get_user_by_email

__all__ = [
    "ROLES",
    "ApiToken",
    "EmailTaken",
    "User",
    "at_least",
    "canonical_role",
    "create_api_token",
    "create_user",
    "get_user",
    "get_user_by_email",
    "list_api_tokens",
    "revoke_api_token",
]
