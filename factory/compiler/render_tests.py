"""Renders ``tests/test_generated.py``: the app's own tests, run by the sandbox.

For every entity: its factory makes a valid record, its admin pages answer, its API lists,
creates, retrieves, updates and deletes (records are archived); records with a pipeline
move through every stage; computed fields evaluate. The kit's pages and endpoints are
visited too. Django's ``TestCase`` only, so the tests also run with ``manage.py test``.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from factory.compiler.common import docstring, module
from factory.compiler.context import (
    AppContext,
    field_digits,
    field_max_length,
    is_record,
)
from factory.compiler.pycode import INDENT, Call, Dict, Imports, Node, Seq, layout, lit, raw
from factory.compiler.render_admin import KIT_ADMINS, AdminRenderer
from factory.compiler.render_api import KIT_ENDPOINTS, endpoint
from factory.spec.models import EntitySpec, FieldSpec, FieldType

UPDATABLE = (
    FieldType.TEXT,
    FieldType.LONG_TEXT,
    FieldType.EMAIL,
    FieldType.URL,
    FieldType.INTEGER,
    FieldType.BOOLEAN,
)
BASE_CLASS = '''class GeneratedTestCase(TestCase):
    """Signed in as a superuser, in the admin (``self.client``) and the API (``self.api``)."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.user = get_user_model().objects.create_superuser(
            "generated-tests", "generated-tests@example.com", "password"
        )

    def setUp(self) -> None:
        self.client.force_login(self.user)
        self.api = APIClient()
        self.api.force_authenticate(self.user)'''


def sample_value(field: FieldSpec, context: AppContext) -> object:
    """A valid value of the field for an API payload (JSON-able)."""
    kind = field.type
    max_length = field_max_length(field)
    if kind in {FieldType.TEXT, FieldType.LONG_TEXT}:
        text = f"Sample {field.name}"
        return text[:max_length] if max_length else text
    if kind == FieldType.EMAIL:
        return "sample@example.com"
    if kind == FieldType.PHONE:
        return "+33612345678" if (max_length or 32) >= 12 else "123"
    if kind == FieldType.URL:
        return "https://example.com/sample"
    if kind in {FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY}:
        low = field.min_value if field.min_value is not None else 1
        high = field.max_value if field.max_value is not None else low + 100
        number = max(min(12, high), low)
        if kind == FieldType.INTEGER:
            return int(number)
        digits, places = field_digits(field)
        amount = min(Decimal(str(number)), Decimal(10 ** (digits - places)) - 1)
        return str(amount.quantize(Decimal(1).scaleb(-places)))
    if kind == FieldType.BOOLEAN:
        return True
    if kind == FieldType.DATE:
        return datetime.date(2025, 1, 15).isoformat()
    if kind == FieldType.DATETIME:
        return "2025-01-15T09:30:00Z"
    if kind == FieldType.CHOICE:
        return (
            field.default
            if field.default is not None
            else context.first_option(field.choice_list or "")
        )
    if kind == FieldType.MULTI_CHOICE:
        return [context.first_option(field.choice_list or "")]
    return None


def updated_value(field: FieldSpec) -> object:
    max_length = field_max_length(field)
    if field.type in {FieldType.TEXT, FieldType.LONG_TEXT}:
        return "Changed"[:max_length] if max_length else "Changed"
    if field.type == FieldType.EMAIL:
        return "changed@example.com"
    if field.type == FieldType.URL:
        return "https://example.com/changed"
    if field.type == FieldType.INTEGER:
        low = int(field.min_value) if field.min_value is not None else 0
        high = int(field.max_value) if field.max_value is not None else low + 1000
        return max(min(7, high), low)
    return False


class TestsRenderer:
    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.admin = AdminRenderer(context)
        self.imports = Imports()
        self.imports.add("__future__", "annotations")
        self.imports.add("django.contrib.auth", "get_user_model")
        self.imports.add("django.test", "TestCase")
        self.imports.add("django.urls", "reverse")
        self.imports.add("rest_framework.test", "APIClient")
        self.imports.add("..", "factories", "models")
        self.count = 0

    def test(self, name: str, body: list[str]) -> list[str]:
        self.count += 1
        return [f"{INDENT}def {name}(self) -> None:", *body]

    def factory_test(self, entity: EntitySpec) -> list[str]:
        body = INDENT * 2
        return self.test(
            f"test_factory_makes_a_valid_{entity.id}",
            [
                f"{body}record = factories.{entity.name}Factory()",
                f"{body}record.full_clean()",
                f"{body}self.assertTrue(models.{entity.name}.objects.filter(pk=record.pk).exists())",
            ],
        )

    def admin_test(self, entity: EntitySpec) -> list[str]:
        body = INDENT * 2
        model = self.context.model_name(entity.id)
        urls = Seq(
            [
                raw(f'admin_url("{model}", "changelist")'),
                raw(f'admin_url("{model}", "add")'),
                raw(f'admin_url("{model}", "change", record.pk)'),
            ],
            kind="tuple",
        )
        return self.test(
            "test_admin_pages_answer",
            [
                f"{body}record = factories.{entity.name}Factory()",
                *layout(urls, body, "for url in ", ":"),
                f"{body}{INDENT}self.assertEqual(self.client.get(url).status_code, 200, url)",
            ],
        )

    def payload(self, entity: EntitySpec) -> tuple[list[str], Dict, bool]:
        """Lines creating related records, the payload, and whether it is multipart."""
        body = INDENT * 2
        setup: list[str] = []
        pairs: list[tuple[Node, Node]] = []
        multipart = False
        for field in entity.fields:
            if field.type == FieldType.RELATION:
                if not field.required:
                    continue
                target = self.context.target(field)
                setup.append(f"{body}{field.name} = factories.{target.name}Factory()")
                pairs.append((lit(field.name), raw(f"{field.name}.pk")))
            elif field.type == FieldType.RELATION_MANY:
                if not field.required or field.through:
                    continue
                target = self.context.target(field)
                setup.append(f"{body}{field.name} = factories.{target.name}Factory()")
                pairs.append((lit(field.name), raw(f"[{field.name}.pk]")))
            elif field.type == FieldType.FILE:
                multipart = True
                self.imports.add("django.core.files.uploadedfile", "SimpleUploadedFile")
                upload = Call("SimpleUploadedFile", [lit(f"{field.name}.txt"), raw('b"sample"')])
                pairs.append((lit(field.name), upload))
            else:
                pairs.append((lit(field.name), lit(sample_value(field, self.context))))
        return setup, Dict(pairs), multipart

    def api_tests(self, entity: EntitySpec) -> list[list[str]]:
        body = INDENT * 2
        _segment, basename = endpoint(entity)
        model = f"models.{entity.name}"
        factory = f"factories.{entity.name}Factory()"
        tests = [
            self.test(
                f"test_api_lists_{entity.id}",
                [
                    f"{body}record = {factory}",
                    f'{body}response = self.api.get(api_url("{basename}", "list"))',
                    f"{body}self.assertEqual(response.status_code, 200, response.content)",
                    f'{body}listed = [item["id"] for item in response.json()["results"]]',
                    f"{body}self.assertIn(record.pk, listed)",
                ],
            ),
            self.test(
                f"test_api_retrieves_a_{entity.id}",
                [
                    f"{body}record = {factory}",
                    f'{body}response = self.api.get(api_url("{basename}", "detail", record.pk))',
                    f"{body}self.assertEqual(response.status_code, 200, response.content)",
                    f'{body}self.assertEqual(response.json()["id"], record.pk)',
                ],
            ),
        ]
        if entity.api.read_only:
            tests.append(
                self.test(
                    f"test_api_refuses_to_write_{entity.id}",
                    [
                        f'{body}response = self.api.post(api_url("{basename}", "list"), {{}})',
                        f"{body}self.assertEqual(response.status_code, 405)",
                        f"{body}self.assertFalse({model}.objects.exists())",
                    ],
                )
            )
            return tests
        setup, payload, multipart = self.payload(entity)
        post = Call(
            "self.api.post",
            [raw(f'api_url("{basename}", "list")'), raw("payload")],
            [("format", lit("multipart" if multipart else "json"))],
        )
        tests.append(
            self.test(
                f"test_api_creates_a_{entity.id}",
                [
                    *setup,
                    *layout(payload, body, "payload = "),
                    *layout(post, body, "response = "),
                    f"{body}self.assertEqual(response.status_code, 201, response.content)",
                    f'{body}self.assertTrue({model}.objects.filter(pk=response.json()["id"]).exists())',
                ],
            )
        )
        tests.append(self.update_test(entity, basename, factory))
        delete_lines = [
            f"{body}record = {factory}",
            f'{body}response = self.api.delete(api_url("{basename}", "detail", record.pk))',
            f"{body}self.assertEqual(response.status_code, 204, response.content)",
        ]
        if is_record(entity):
            delete_lines.append(
                f"{body}self.assertIsNotNone({model}.all_objects.get(pk=record.pk).deleted_at)"
            )
            name = f"test_api_archives_a_{entity.id}"
        else:
            delete_lines.append(
                f"{body}self.assertFalse({model}.objects.filter(pk=record.pk).exists())"
            )
            name = f"test_api_deletes_a_{entity.id}"
        tests.append(self.test(name, delete_lines))
        return tests

    def update_test(self, entity: EntitySpec, basename: str, factory: str) -> list[str]:
        body = INDENT * 2
        field = next((item for item in entity.fields if item.type in UPDATABLE), None)
        changes = (
            Dict([]) if field is None else Dict([(lit(field.name), lit(updated_value(field)))])
        )
        patch = Call(
            "self.api.patch",
            [raw(f'api_url("{basename}", "detail", record.pk)'), raw("changes")],
            [("format", lit("json"))],
        )
        lines = [
            f"{body}record = {factory}",
            *layout(changes, body, "changes = "),
            *layout(patch, body, "response = "),
            f"{body}self.assertEqual(response.status_code, 200, response.content)",
        ]
        if field is not None:
            lines += [
                f"{body}record.refresh_from_db()",
                *layout(
                    Call(
                        "self.assertEqual", [raw(f"record.{field.name}"), lit(updated_value(field))]
                    ),
                    body,
                ),
            ]
        return self.test(f"test_api_updates_a_{entity.id}", lines)

    def stage_test(self, entity: EntitySpec) -> list[str]:
        body = INDENT * 2
        self.imports.add("crm.kit.services", "records_move_stage")
        stage = self.context.stage_field(entity)
        assert stage is not None
        model_name = lit(self.context.model_name(entity.id)).flat()
        return self.test(
            "test_moves_through_every_stage",
            [
                f"{body}record = factories.{entity.name}Factory()",
                f"{body}stages = models.Stage.objects.filter(pipeline__entity={model_name})",
                f'{body}for stage in stages.order_by("pipeline__order", "order"):',
                f"{body}{INDENT}records_move_stage(records=[record], stage=stage)",
                f"{body}{INDENT}record.refresh_from_db()",
                f"{body}{INDENT}self.assertEqual(record.{stage.name}_id, stage.pk)",
                f"{body}{INDENT}self.assertEqual(record.pipeline_id, stage.pipeline_id)",
            ],
        )

    def computed_test(self, entity: EntitySpec) -> list[str]:
        body = INDENT * 2
        self.imports.add("datetime")
        self.imports.add("decimal", "Decimal")
        values = Seq([raw(f"record.{item.name}") for item in entity.computed])
        return self.test(
            "test_computed_fields_evaluate",
            [
                f"{body}record = factories.{entity.name}Factory()",
                *layout(values, body, "for value in ", ":"),
                *layout(
                    Call(
                        "self.assertIsInstance",
                        [raw("value"), raw("(int, Decimal, bool, str, datetime.date, type(None))")],
                    ),
                    body + INDENT,
                ),
            ],
        )

    def entity_lines(self, entity: EntitySpec) -> list[str]:
        tests = [self.factory_test(entity)]
        if self.admin.registered(entity):
            tests.append(self.admin_test(entity))
        if entity.api.enabled:
            tests += self.api_tests(entity)
        if entity.stage_field and self.context.pipelines_of(entity):
            tests.append(self.stage_test(entity))
        if entity.computed:
            tests.append(self.computed_test(entity))
        lines = [f"class {entity.name}Tests(GeneratedTestCase):"]
        for index, test in enumerate(tests):
            if index:
                lines.append("")
            lines += test
        return lines

    def kit_lines(self) -> list[str]:
        body = INDENT * 2
        pages = [raw('reverse(f"{ADMIN}:index")')]
        pages += [
            raw(f'admin_url("{model.lower()}", "changelist")') for model, _admin in KIT_ADMINS
        ]
        boards = [
            entity
            for entity in self.context.spec.entities
            if entity.admin.board and entity.stage_field and self.context.pipelines_of(entity)
        ]
        pages += [
            raw(f'reverse(f"{{ADMIN}}:board") + "?entity={self.context.model_name(entity.id)}"')
            for entity in boards
        ]
        endpoints = Seq(
            [lit(basename) for _segment, _view, basename in KIT_ENDPOINTS], kind="tuple"
        )
        admin_test = self.test(
            "test_admin_pages_answer",
            [
                *layout(Seq(pages, kind="tuple"), body, "for url in ", ":"),
                f"{body}{INDENT}response = self.client.get(url, follow=True)",
                f"{body}{INDENT}self.assertEqual(response.status_code, 200, url)",
            ],
        )
        api_test = self.test(
            "test_api_lists_answer",
            [
                *layout(endpoints, body, "for basename in ", ":"),
                f'{body}{INDENT}response = self.api.get(api_url(basename, "list"))',
                f"{body}{INDENT}self.assertEqual(response.status_code, 200, basename)",
            ],
        )
        return [
            "class KitPagesTests(GeneratedTestCase):",
            f'{INDENT}"""The dashboard, boards and the kit\'s own pages and endpoints."""',
            "",
            *admin_test,
            "",
            *api_test,
        ]

    def render(self) -> str:
        label = self.context.label
        helpers = [
            f"ADMIN = {lit(label).flat()}",
            f"API = {lit(self.context.api_namespace).flat()}",
            "",
            "",
            "def admin_url(model_name: str, view: str, *args: object) -> str:",
            f'{INDENT}return reverse(f"{{ADMIN}}:{label}_{{model_name}}_{{view}}", args=args)',
            "",
            "",
            "def api_url(basename: str, view: str, *args: object) -> str:",
            f'{INDENT}return reverse(f"{{API}}:{{basename}}-{{view}}", args=args)',
        ]
        blocks = [helpers, BASE_CLASS.splitlines()]
        blocks += [self.entity_lines(entity) for entity in self.context.spec.entities]
        blocks.append(self.kit_lines())
        header = docstring(
            f"Generated tests of the {label} app: records, admin pages and API of every entity.",
        )
        return module(header, self.imports, *blocks)


def render_tests(context: AppContext) -> tuple[str, int]:
    """The test module and the number of tests it defines."""
    renderer = TestsRenderer(context)
    return renderer.render(), renderer.count
