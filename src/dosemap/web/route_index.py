"""A first-segment index in front of the app's route list.

Starlette (and FastAPI) try the routes in order, ~1 µs each: a page near the end of the
app's ~90 routes paid ~60 µs to be found. :class:`RouteIndex` sits first in the list and tries
only the routes whose path could match the request's first path segment, in their original
order, so the route it finds is the one the full walk would find first. When none of them
matches fully it answers "no match" and the router walks the whole list as before: 404, 405,
the trailing-slash redirect and routes added later keep Starlette's own handling.

A path without parameters (``POST /patients/search``) is looked up by (method, path) first,
unless an earlier route with parameters could take it: one route tried instead of the
segment's ~20. A path with parameters (``/patients/{patient_id}``) is looked for among the
routes with as many segments, where no route of the segment has a parameter that may hold a
"/" (``{x:path}``): 2 routes tried instead of ~20 (11.7 -> ~3 µs for the Patient page).
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from starlette.convertors import (
    FloatConvertor,
    IntegerConvertor,
    StringConvertor,
    UUIDConvertor,
)
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

#: Routes whose first path segment is a parameter may match any segment.
_ANY = object()
#: Convertors whose values never hold a "/": a route of them matches paths of its own number
#: of segments only (Starlette's "path" convertor, or one of a kind unknown here, may span more).
_ONE_SEGMENT = (StringConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor)


class RouteIndex(BaseRoute):
    """Finds the first fully matching route among those sharing the path's first segment."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self._any: list[APIRoute] = []
        by_segment: dict[str, list[APIRoute]] = {}
        unindexed: set[str] = set()
        for route in routes:
            segment = _first_segment(route)
            if not isinstance(route, APIRoute):
                # Another kind of route (the static mount): its segment keeps the full walk.
                if segment is _ANY:
                    break  # it could match anything: nothing after it may be indexed
                unindexed.add(str(segment))
                continue
            if segment is _ANY:
                self._any.append(route)
                for bucket in by_segment.values():
                    bucket.append(route)
            else:
                bucket = by_segment.setdefault(str(segment), list(self._any))
                bucket.append(route)
        self._by_segment = {s: tuple(b) for s, b in by_segment.items() if s not in unindexed}
        # (segment, number of "/") -> the segment's routes of that shape, in their order;
        # only for segments whose routes all keep to their own number of segments.
        self._by_shape: dict[tuple[str, int], tuple[APIRoute, ...]] = {}
        self._shaped = {
            s for s, tried in self._by_segment.items() if all(map(_one_segment_params, tried))
        }
        for segment in self._shaped:
            for route in self._by_segment[segment]:
                key = (segment, route.path.count("/"))
                self._by_shape[key] = (*self._by_shape.get(key, ()), route)
        self._exact: dict[tuple[str, str], APIRoute] = {}
        for tried in self._by_segment.values():
            for at, route in enumerate(tried):
                if "{" in route.path:
                    continue
                for method in route.methods or ():
                    # The walk finds the first route that takes the request: an earlier
                    # one whose pattern takes this path and method keeps the key out.
                    taken = any(
                        method in (e.methods or ()) and e.path_regex.match(route.path)
                        for e in tried[:at]
                    )
                    if not taken:
                        self._exact.setdefault((method, route.path), route)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path: str = scope["path"]
        exact = self._exact.get((scope["method"], path))
        if exact is not None:
            match, child_scope = exact.matches(scope)
            if match is Match.FULL:
                return match, child_scope
        segment = path[1:].partition("/")[0]
        if segment in self._shaped:
            candidates = self._by_shape.get((segment, path.count("/")), ())
        else:
            candidates = self._by_segment.get(segment, ())
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, child_scope  # child_scope["route"] is the route (APIRoute)
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: APIRoute = scope["route"]
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # the routes themselves answer url_for


def _first_segment(route: BaseRoute) -> object:
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        return _ANY
    segment = path[1:].partition("/")[0]
    return _ANY if "{" in segment else segment


def _one_segment_params(route: APIRoute) -> bool:
    return all(isinstance(c, _ONE_SEGMENT) for c in route.param_convertors.values())
