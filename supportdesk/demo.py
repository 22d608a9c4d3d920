"""Reading the demo data files (``demo/<slug>.yaml``, one per demo tenant).

Each app's ``demo.py`` reads its part of a tenant's file through a :class:`Section` and
creates the rows through the services, as user input would be. Every complaint, the
reader's or a service's, is a :class:`DemoDataError` that names the file and the key path
(``demo/itsl.yaml: contracts[2].plan: unknown plan 'Guld'``), so ``seed_demo`` can stop with
one readable line instead of a traceback.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import yaml
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

DEMO_DIR = Path(settings.BASE_DIR) / "demo"

_MISSING: Any = object()


T = TypeVar("T")


class DemoDataError(Exception):
    """A demo file that cannot be loaded as it stands; the message names file and key."""


def demo_file(slug: str, directory: Path | None = None) -> Path:
    """The path of tenant ``slug``'s demo file (it need not exist)."""
    return (directory or DEMO_DIR) / f"{slug}.yaml"


def demo_files(directory: Path | None = None) -> list[Path]:
    """Every demo file in ``directory`` (default ``demo/``), sorted by name."""
    return sorted((directory or DEMO_DIR).glob("*.yaml"))


def _shown(path: Path) -> str:
    """The file as messages show it: relative to the project when it lies inside it."""
    try:
        return str(path.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


def load_demo(path: Path) -> Section:
    """Parse one demo file; its top level must be a mapping."""
    shown = _shown(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DemoDataError(f"{shown}: cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise DemoDataError(f"{shown}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise DemoDataError(f"{shown}: expected a mapping of sections at the top level")
    return Section(file=shown, path="", data=data)


def tenant_demo(slug: str) -> Section | None:
    """Tenant ``slug``'s demo data, or None for a tenant that has no demo file."""
    path = demo_file(slug)
    return load_demo(path) if path.exists() else None


class Section:
    """A mapping read from a demo file, knowing where it came from.

    The accessors check the type of what they return; a missing key without a default, or a
    value of the wrong type, raises :class:`DemoDataError` naming ``file: key.path``.
    """

    def __init__(self, *, file: builtins.str, path: builtins.str, data: Mapping[str, Any]):
        self.file = file
        self.path = path
        self.data = data

    def where(self, key: builtins.str | None = None) -> builtins.str:
        """``key``'s path below this section, e.g. ``contracts[2].plan``."""
        if key is None:
            return self.path or "(top level)"
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: builtins.str | None, message: builtins.str) -> DemoDataError:
        return DemoDataError(f"{self.file}: {self.where(key)}: {message}")

    def has(self, key: builtins.str) -> bool:
        return key in self.data

    def keys(self) -> builtins.list[builtins.str]:
        return [builtins.str(k) for k in self.data]

    def _get(self, key: builtins.str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise self.error(key, "missing")
        return default

    def _typed(
        self, key: builtins.str, default: Any, kinds: tuple[type, ...], what: builtins.str
    ) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        # YAML's true/false are ints to Python; a flag is never a number, nor a number a flag.
        if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
            raise self.error(key, f"expected {what}, got {value!r}")
        return value

    def str(self, key: builtins.str, default: Any = _MISSING) -> Any:
        return self._typed(key, default, (builtins.str,), "text")

    def int(self, key: builtins.str, default: Any = _MISSING) -> Any:
        return self._typed(key, default, (builtins.int,), "a whole number")

    def bool(self, key: builtins.str, default: Any = _MISSING) -> Any:
        return self._typed(key, default, (builtins.bool,), "true or false")

    def decimal(self, key: builtins.str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, builtins.bool) or not isinstance(
            value, builtins.int | builtins.str | float
        ):
            raise self.error(key, f"expected a number, got {value!r}")
        try:
            return Decimal(builtins.str(value))
        except InvalidOperation:
            raise self.error(key, f"expected a number, got {value!r}") from None

    def date(
        self, key: builtins.str, periods: Mapping[builtins.str, dt.date], default: Any = _MISSING
    ) -> Any:
        """A date: an ISO date, or one of the names in ``periods`` (dates relative to today)."""
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, dt.date):
            return value
        if isinstance(value, builtins.str) and value in periods:
            return periods[value]
        names = ", ".join(periods)
        raise self.error(key, f"expected a date (YYYY-MM-DD or one of {names}), got {value!r}")

    def list(self, key: builtins.str, default: Any = _MISSING) -> Any:
        return builtins.list(self._typed(key, default, (builtins.list,), "a list"))

    def str_list(self, key: builtins.str, default: Any = _MISSING) -> builtins.list[builtins.str]:
        values = self.list(key, default)
        for i, value in enumerate(values):
            if not isinstance(value, builtins.str):
                raise self.error(f"{key}[{i}]", f"expected text, got {value!r}")
        return values

    def mapping(self, key: builtins.str, default: Any = _MISSING) -> dict[builtins.str, Any]:
        """A mapping returned as plain data (e.g. a calendar's configuration)."""
        return dict(self._typed(key, default, (dict,), "a mapping"))

    def section(self, key: builtins.str) -> Section:
        return Section(file=self.file, path=self.where(key), data=self.mapping(key))

    def sections(self, key: builtins.str) -> Iterator[Section]:
        """The mappings listed under ``key`` (an absent key is an empty list)."""
        for i, item in enumerate(self.list(key, [])):
            where = f"{self.where(key)}[{i}]"
            if not isinstance(item, dict):
                raise DemoDataError(f"{self.file}: {where}: expected a mapping, got {item!r}")
            yield Section(file=self.file, path=where, data=item)

    def section_at(self, key: builtins.str, index: builtins.int) -> Section:
        """The ``index``-th mapping listed under ``key``."""
        items = builtins.list(self.sections(key))
        if not 0 <= index < len(items):
            raise self.error(f"{key}[{index}]", "missing")
        return items[index]

    def saved(self, save: Callable[..., T], /, **kwargs: Any) -> T:
        """``save(**kwargs)`` (one service call), its refusal raised as :meth:`refused`."""
        try:
            return save(**kwargs)
        except ValidationError as exc:
            raise self.refused(exc) from exc

    def refused(
        self, exc: ValidationError, fields: Mapping[builtins.str, builtins.str] | None = None
    ) -> DemoDataError:
        """A service's or ``full_clean()``'s refusal, at the key of the field it names.

        ``fields`` maps model field names to keys where the two differ.
        """
        fields = fields or {}
        if hasattr(exc, "error_dict"):
            field, messages = next(iter(exc.message_dict.items()))
            key = None if field == NON_FIELD_ERRORS else fields.get(field, field)
            return self.error(key, " ".join(messages))
        return self.error(None, " ".join(exc.messages))
