"""Middleware that makes the request's user the acting user for the kit's stamps."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from crm.kit.current_user import acting_as


class CurrentUserMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with acting_as(getattr(request, "user", None)):
            return self.get_response(request)
