"""A system file's ``type``-tagged tables (auth, paging) read as the styles they name.

Each style (:mod:`reconcile.model.styles`) is a pydantic model whose fields are its keys; here they are
gathered into a union told apart by ``type``. The tag is checked first, so that a table that is no table, or
names no style or one that does not exist, is told which styles there are (with a did-you-mean for a typo);
then the style's own schema checks its keys, and refuses a secret written into the table without echoing it.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

import pydantic

from reconcile.config.schema import problem
from reconcile.model.names import did_you_mean
from reconcile.model.styles import AnyAuth, AnyPaging


def _tagged(union: Any, what: str) -> pydantic.BeforeValidator:
    """A check that a ``what`` table names one of the styles of ``union`` in its ``type``."""
    valid = [style.model_fields["type"].default for style in get_args(union)]

    def check(value: Any) -> Any:
        styles = ", ".join(valid)
        if not isinstance(value, dict):
            raise problem(f'must be a table such as {{ type = "{valid[0]}", ... }}; valid types are {styles}')
        tag = value.get("type")
        if tag is None:
            raise problem(f"missing; valid {what} types are {styles}", at=("type",))
        if tag not in valid:
            hint = did_you_mean(str(tag), valid)
            raise problem(f'{what} type "{tag}" is unknown{hint}; valid types are {styles}', at=("type",))
        return value

    return pydantic.BeforeValidator(check)


AuthTable = Annotated[AnyAuth, pydantic.Field(discriminator="type"), _tagged(AnyAuth, "auth")]
"""An ``[auth]`` table: how every call logs in."""
PagingTable = Annotated[AnyPaging, pydantic.Field(discriminator="type"), _tagged(AnyPaging, "paging")]
"""A ``[paging]`` table: how a full list is read page by page."""
