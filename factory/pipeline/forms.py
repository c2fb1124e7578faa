"""Forms of the builders' console: a new request, the answers to its questions, a spec.

Forms only collect and clean what the builder typed; the services decide and refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms

from factory.pipeline.models import Question
from factory.spec.io import spec_load
from factory.spec.models import AppSpec
from factory.spec.validation import SpecInvalid
from factory.tenants.models import Tenant


class ChangeRequestForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none(), empty_label=None)
    text = forms.CharField(
        label="What should change?",
        widget=forms.Textarea(attrs={"rows": 10, "cols": 90}),
        help_text="In plain words: what your business tracks, how work moves, who uses the CRM.",
    )
    language = forms.CharField(
        initial="en", max_length=16, help_text="Your language (en, fr, de...): questions use it."
    )
    confirm_destructive = forms.BooleanField(
        required=False,
        label="I accept changes that remove or narrow data",
        help_text="They are backed up before the deploy, and a rollback restores them.",
    )

    def __init__(self, *args: Any, tenants: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["tenant"]).queryset = tenants


def answer_field_name(question: Question) -> str:
    return f"q{question.pk}"


def answer_text_field_name(question: Question) -> str:
    return f"q{question.pk}_text"


class AnswersForm(forms.Form):
    """One choice (the question's options) and one free-text box per open question; the
    free text wins when both are given. Empty: the suggested default is taken, unless the
    question is blocking."""

    def __init__(self, *args: Any, questions: Sequence[Question], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        for question in self.questions:
            if question.options:
                self.fields[answer_field_name(question)] = forms.ChoiceField(
                    label=question.text,
                    choices=[(option, option) for option in question.options],
                    widget=forms.RadioSelect,
                    required=False,
                )
            self.fields[answer_text_field_name(question)] = forms.CharField(
                label="Your own answer" if question.options else question.text,
                required=False,
                max_length=2000,
                widget=forms.TextInput(attrs={"size": 80}),
            )

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "question": question,
                "choice": self[answer_field_name(question)] if question.options else None,
                "text": self[answer_text_field_name(question)],
            }
            for question in self.questions
        ]

    def answers(self) -> dict[int, str]:
        data = self.cleaned_data
        return {
            question.pk: (
                data.get(answer_text_field_name(question), "").strip()
                or data.get(answer_field_name(question), "")
                or ""
            )
            for question in self.questions
        }


class SpecUploadForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none(), empty_label=None)
    spec_text = forms.CharField(
        label="App spec (YAML or JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100, "spellcheck": "false"}),
    )
    spec_file = forms.FileField(label="…or a spec file", required=False)
    confirm_destructive = forms.BooleanField(
        required=False,
        label="I accept changes that remove or narrow data",
        help_text="They are backed up before the deploy, and a rollback restores them.",
    )

    def __init__(self, *args: Any, tenants: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["tenant"]).queryset = tenants
        self.spec: AppSpec | None = None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        upload = data.get("spec_file")
        text = upload.read().decode("utf-8", errors="replace") if upload else data.get("spec_text")
        if not text or not text.strip():
            raise forms.ValidationError("Paste a spec or choose a spec file.")
        try:
            self.spec = spec_load(text=text)
        except SpecInvalid as error:
            raise forms.ValidationError(
                [f"The spec is not valid: {problem}" for problem in error.problems]
            ) from error
        return data
