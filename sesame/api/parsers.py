"""The API's JSON parser: strict, bounded, and never a 500.

A body is refused with 413 ``payload_too_large`` beyond ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (before
it is read whole), and with 400 ``malformed_json`` when it is not UTF-8 JSON text, nests
deeper than ``API_JSON_MAX_DEPTH`` (checked before parsing: Python's parser recurses, and a
body nested a thousand levels deep used to end in a RecursionError), repeats a key in an
object (two readers could see two different values), uses NaN or Infinity, or carries a NUL
or a lone surrogate (text the database cannot store).
"""

import json
import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from sesame.api.errors import PayloadTooLarge

DEFAULT_MAX_DEPTH = 32
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class MalformedJSON(ParseError):
    default_code = "malformed_json"


def max_depth() -> int:
    return int(getattr(settings, "API_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text`` (brackets inside strings ignored)."""
    skeleton = _STRING.sub("", text)
    depth = deepest = 0
    for bracket in _BRACKET.findall(skeleton):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        keys = [key for key, _value in pairs]
        repeated = next(key for key in keys if keys.count(key) > 1)
        raise ValueError(_("the key %(key)r appears twice in an object") % {"key": repeated})
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(_("%(name)s is not valid JSON") % {"name": name})


def _unstorable(value: Any) -> bool:
    """Whether a string anywhere in ``value`` holds a NUL or a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item or any("\ud800" <= c <= "\udfff" for c in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_json(raw: bytes) -> Any:
    """``raw`` as JSON under the rules of this module (MalformedJSON otherwise)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedJSON(_("Malformed JSON: the body is not UTF-8 text.")) from None
    limit = max_depth()
    if text.count("[") + text.count("{") > limit and json_depth(text) > limit:
        raise MalformedJSON(
            _("Malformed JSON: arrays and objects nest deeper than %(limit)d levels.")
            % {"limit": limit}
        )
    try:
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_object)
    except (ValueError, RecursionError) as exc:
        raise MalformedJSON(_("Malformed JSON: %(error)s") % {"error": exc}) from None
    # Escapes are the only way to write a NUL or a lone surrogate in valid UTF-8 JSON text.
    if "\\u" in text and _unstorable(data):
        raise MalformedJSON(
            _("Malformed JSON: a string holds a NUL character or a lone surrogate.")
        )
    return data


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(
                _("The request body is larger than %(limit)d bytes.") % {"limit": limit}
            )
        return parse_json(raw)
