"""The migration questioner of an evolving app: Django's questions answered from the spec diff.

Django's autodetector asks whether a field or a model was renamed, and which value existing
rows get when a NOT NULL column appears. ``makemigrations --noinput`` answers "no rename"
(data lost as drop + add) and gives up on defaults; this questioner answers from the
migration plan that the factory built from the spec diff: "renamed" exactly for the ids the
diff says were renamed (never on a mere resemblance), and the plan's fill value for a
required column, or a ``QuestionUnanswered`` error naming the field when the plan has none.
It never prompts. Every answer is logged in ``answers`` for the report.

Runs inside the scratch process (``sandbox_run_script``), where ``factory`` is factory-boy:
it imports only Django and the standard library, and reads the plan as plain JSON data.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.utils import timezone


class QuestionUnanswered(Exception):
    """The autodetector asked something the spec diff does not answer."""


class SpecDiffQuestioner(NonInteractiveMigrationQuestioner):
    def __init__(
        self,
        *,
        plan: dict[str, Any],
        registry: Any = None,
        specified_apps: set[str] | None = None,
    ) -> None:
        super().__init__(specified_apps=specified_apps, verbosity=0, log=lambda _message: None)
        self.plan = plan
        self.app_label = plan["app_label"]
        self.registry = registry or global_apps
        self.answers: list[dict[str, Any]] = []
        self.renamed_models = {
            (item["old"].lower(), item["new"].lower()) for item in plan["renamed_models"]
        }
        self.renamed_fields = {
            (item["model"].lower(), item["old"], item["new"]) for item in plan["renamed_fields"]
        }

    def _record(self, question: str, answer: Any) -> Any:
        self.answers.append({"question": question, "answer": repr(answer)})
        return answer

    def ask_rename_model(self, old_model_state: Any, new_model_state: Any) -> bool:
        key = (old_model_state.name_lower, new_model_state.name_lower)
        return self._record(
            f"Was model {old_model_state.name} renamed to {new_model_state.name}?",
            key in self.renamed_models,
        )

    def ask_rename(
        self, model_name: str, old_name: str, new_name: str, field_instance: Any
    ) -> bool:
        key = (model_name.lower(), old_name, new_name)
        return self._record(
            f"Was field {model_name}.{old_name} renamed to {new_name}?",
            key in self.renamed_fields,
        )

    def _fill(self, field_name: str, model_name: str) -> Any:
        for fill in self.plan["fills"]:
            if fill["model"].lower() == model_name.lower() and fill["field"] == field_name:
                return self._python_value(model_name, field_name, fill["value"])
        raise QuestionUnanswered(
            f"Field {field_name} on {model_name} needs a value for the rows that already exist,"
            " and the spec gives none. Give the field a default in the spec, or a value for the"
            " existing rows, or make it optional."
        )

    def _python_value(self, model_name: str, field_name: str, value: Any) -> Any:
        # The plan is JSON: turn "2024-05-01" into a date, "12.50" into a Decimal, and so on.
        try:
            model = self.registry.get_model(self.app_label, model_name)
            return model._meta.get_field(field_name).to_python(value)
        except LookupError:
            return value

    def ask_not_null_addition(self, field_name: str, model_name: str) -> Any:
        return self._record(
            f"Value for existing rows of new field {model_name}.{field_name}?",
            self._fill(field_name, model_name),
        )

    def ask_not_null_alteration(self, field_name: str, model_name: str) -> Any:
        return self._record(
            f"Value for empty rows of field {model_name}.{field_name}, now required?",
            self._fill(field_name, model_name),
        )

    def ask_auto_now_add_addition(self, field_name: str, model_name: str) -> Any:
        # A detail line becoming a record: its creation time is the migration time.
        return self._record(
            f"Creation time of existing rows for {model_name}.{field_name}?", timezone.now
        )

    def ask_merge(self, app_label: str) -> bool:
        return self._record(f"Merge the migrations of {app_label}?", False)
