"""The wrapper around every process implementation: resolves parameter references, and turns
the errors that user values provoke in implementations (a CRS pyproj refuses, a number too large
for a float or a date, callbacks nested too deeply, a TypeError/ValueError/KeyError/IndexError of
an implementation on a value it cannot handle) into 400 errors. This is the only place where
Python exceptions become 400s: anywhere else they are our bugs (a logged 500, see
``executor.as_openeo_error``).

openeo-processes-dask's own ``process`` decorator resolves ``{"from_parameter": ...}`` only when
it is a whole argument; the parser leaves references nested in arrays and objects (e.g.
``max(data=[x, y])`` as a ``merge_cubes`` overlap resolver) unresolved. This one resolves them at
any depth (never inside callbacks, whose parameters are their own).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Collection
from typing import Any

import xarray as xr
from openeo_pg_parser_networkx.pg_schema import ParameterReference

from openeo_dedl.errors import (
    OpenEOError,
    ProcessException,
    ProcessGraphComplexity,
    ProcessParameterInvalid,
    ProcessParameterMissing,
)
from openeo_dedl.execution.literals import cube_parameters
from openeo_dedl.execution.processes.vector import is_vector_cube
from openeo_dedl.planning.walk import is_callback

logger = logging.getLogger(__name__)

# Arguments that parent processes pass to callbacks but not every implementation accepts.
_SPECIAL_ARGS = ("axis", "keepdims", "source_transposed_axis", "context", "dim_labels")


def _resolve(value: Any, named: dict[str, Any]) -> Any:
    if isinstance(value, ParameterReference):
        if value.from_parameter not in named:
            raise ProcessParameterMissing(f"Process parameter '{value.from_parameter}' is missing.")
        return named[value.from_parameter]
    if isinstance(value, list):
        return [_resolve(v, named) for v in value]
    if type(value) is dict:  # JSON of the graph; dict subclasses are computed values
        if is_callback(value):
            return value  # a callback (e.g. in load_collection's properties): its own parameters
        return {k: _resolve(v, named) for k, v in value.items()}
    return value


def resolve_parameters(f: Callable) -> Callable:
    """Wrap ``f`` so that parameter references in its arguments become their values.

    Otherwise it behaves like openeo-processes-dask's ``process``: positional arguments that
    parents pass to callbacks are reachable only through ``positional_parameters`` names, and
    the special arguments parents pass (``axis``, ``context``, ...) reach only implementations
    that name them.
    """
    accepted = set(inspect.signature(f).parameters)

    @functools.wraps(f)
    def wrapper(*args, positional_parameters=None, named_parameters=None, **kwargs):
        named = named_parameters or {}
        if positional_parameters:
            # A copy only then: the graph's named parameters (all its literals) can be many.
            named = {**named, **{name: args[i] for name, i in positional_parameters.items()}}
        resolved_args = [_resolve(a, named) for a in args if isinstance(a, ParameterReference)]
        resolved = {k: _resolve(v, named) for k, v in kwargs.items()}
        for name in _SPECIAL_ARGS:
            if name not in accepted:
                resolved.pop(name, None)
        try:
            return f(*resolved_args, **resolved)
        except _USER_VALUE_ERRORS as exc:
            raise user_value_error(f.__name__, exc) from exc
        except _INPUT_ERRORS as exc:
            # An implementation that cannot handle a value (e.g. xarray refusing a dimension):
            # the user's input. Logged, in case it was ours after all.
            logger.info("process %s failed on its input: %r", f.__name__, exc)
            raise ProcessParameterInvalid(
                f"Process '{f.__name__}' could not handle its input: {type(exc).__name__}: "
                f"{_first_line(exc)}"
            ) from exc

    return wrapper


def _crs_error() -> type[Exception]:
    from pyproj.exceptions import CRSError

    return CRSError


# Raised by implementations on what the user sent, never by a bug of ours alone: a CRS pyproj
# cannot read, a number beyond a float or a date, callbacks nested deeper than Python recurses.
# Other exceptions keep their way (executor.as_openeo_error: a bug is a logged 500).
_USER_VALUE_ERRORS = (_crs_error(), OverflowError, RecursionError)
# What implementations raise on values they were not made for.
_INPUT_ERRORS = (TypeError, ValueError, KeyError, IndexError)


def _first_line(exc: BaseException) -> str:
    return str(exc).split("\n")[0][:300]


def upstream_exception(exc: BaseException) -> OpenEOError | None:
    """The openEO error of an exception of openeo-processes-dask's own (``OpenEOException``
    subclasses, named after the specs' exception codes), None for any other exception. These
    can come from inside a Dask computation, after the wrapper returned."""
    from openeo_processes_dask.process_implementations.exceptions import OpenEOException

    if not isinstance(exc, OpenEOException):
        return None
    code = type(exc).__name__
    if code == "OpenEOException":
        return ProcessParameterInvalid(str(exc) or code)
    return ProcessException(code, str(exc) or code)


def user_value_error(process: str, exc: BaseException) -> OpenEOError:
    """The 400 error of ``exc`` raised by the implementation of ``process`` on a user value."""
    if isinstance(exc, RecursionError):
        return ProcessGraphComplexity(
            f"Process '{process}': the process graph is nested too deeply to run."
        )
    kind = "a CRS that cannot be used" if isinstance(exc, _crs_error()) else "a value out of range"
    return ProcessParameterInvalid(f"Process '{process}' got {kind}: {_first_line(exc)}")


def _is_cube(value: Any) -> bool:
    return isinstance(value, xr.DataArray | xr.Dataset) or is_vector_cube(value)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)  # fmt: skip


def requiring_cubes(
    process_id: str, spec: dict, impl: Callable, except_for: Collection[str] = ()
) -> Callable:
    """Wrap ``impl`` so that a value that is not a data cube, passed where ``spec`` takes only
    data cubes, is a ProcessParameterInvalid (the implementations would fail on it with
    AttributeErrors: a 500); the parameters ``except_for`` are not checked."""
    names = cube_parameters(spec) - set(except_for)
    if not names:
        return impl
    optional = {p["name"] for p in spec.get("parameters", []) if p.get("optional")}

    @functools.wraps(impl)
    def wrapper(*args, **kwargs):
        for name in names:
            if name not in kwargs or (kwargs[name] is None and name in optional):
                continue
            value = kwargs[name]
            if not _is_cube(value):
                raise ProcessParameterInvalid(
                    f"The value passed for parameter '{name}' in process '{process_id}' is "
                    f"invalid: a data cube is needed, not {_kind(value)}."
                )
        return impl(*args, **kwargs)

    return wrapper
