"""Confirmation before an irreversible action (release, removing a member, cancelling).

One pattern for every page (its template comment in `templates/sesame/_confirm.html` shows the
markup):

1. The page shows the action with `{% include "sesame/_confirm.html" with action=url
   label=... id=... %}`: a button in a form posting to the action.
2. The view, after its access checks and before acting, calls `confirmation(request, ...)`
   and returns what it returns when it is not None:

       asked = confirmation(request, question=_("Remove x?"), confirm_label=_("Remove"),
                            cancel_url=reverse("members"))
       if asked:
           return asked

3. A POST without `confirmed=yes` is answered with the question (nothing changes): in place of
   the button when HTMX sent it, as a page of its own otherwise (no JavaScript needed). The
   question's button posts again with `confirmed=yes`, and the action runs.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRMED = "confirmed"


def is_confirmed(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get(CONFIRMED) == "yes"


def confirmation(
    request: HttpRequest,
    *,
    question: str,
    confirm_label: str,
    cancel_url: str,
    detail: str = "",
    **extra: Any,
) -> HttpResponse | None:
    """None when the person confirmed; else the question (fragment for HTMX, page otherwise)."""
    if is_confirmed(request):
        return None
    context = {
        "question": question,
        "detail": detail,
        "confirm_label": confirm_label,
        "cancel_url": cancel_url,
        "action": request.path,
        **extra,
    }
    if getattr(request, "htmx", False):
        return render(request, "sesame/_confirm_question.html", context)
    return render(request, "sesame/confirm.html", context)
