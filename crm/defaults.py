"""The base CRM's starting choice lists and pipelines (editable afterwards in the admin)."""

from typing import Any

CHOICE_LISTS: dict[str, dict[str, Any]] = {
    "task_status": {
        "name": "Task status",
        "options": [
            ("todo", "To do", "#6c757d"),
            ("in_progress", "In progress", "#0d6efd"),
            ("waiting", "Waiting", "#fd7e14"),
            ("done", "Done", "#198754"),
        ],
    },
    "task_priority": {
        "name": "Task priority",
        "options": [
            ("low", "Low", "#6c757d"),
            ("normal", "Normal", "#0d6efd"),
            ("high", "High", "#fd7e14"),
            ("urgent", "Urgent", "#dc3545"),
        ],
    },
    "industry": {
        "name": "Industry",
        "options": [
            ("software", "Software", "#0d6efd"),
            ("services", "Services", "#6f42c1"),
            ("retail", "Retail", "#20c997"),
            ("manufacturing", "Manufacturing", "#fd7e14"),
            ("health", "Health", "#dc3545"),
            ("education", "Education", "#198754"),
            ("other", "Other", "#6c757d"),
        ],
    },
    "currency": {
        "name": "Currency",
        "options": [
            ("EUR", "Euro", "#0d6efd"),
            ("USD", "US dollar", "#198754"),
            ("GBP", "Pound sterling", "#6f42c1"),
            ("CHF", "Swiss franc", "#dc3545"),
        ],
    },
    "contact_point_label": {
        "name": "Email and phone labels",
        "options": [
            ("work", "Work", "#0d6efd"),
            ("personal", "Personal", "#20c997"),
            ("mobile", "Mobile", "#fd7e14"),
            ("other", "Other", "#6c757d"),
        ],
    },
    "deal_contact_role": {
        "name": "Role in a deal",
        "options": [
            ("decision_maker", "Decision maker", "#dc3545"),
            ("champion", "Champion", "#198754"),
            ("influencer", "Influencer", "#0d6efd"),
            ("user", "User", "#6c757d"),
        ],
    },
}

# Each pipeline and stage has a key, its id in the template spec, by which
# ``pipelines_install`` finds it again; stages are (key, name, kind, probability).
PIPELINES: list[dict[str, Any]] = [
    {
        "key": "sales",
        "entity": "deal",
        "name": "Sales",
        "is_default": True,
        "stages": [
            ("sales_lead", "Lead", "open", 10),
            ("sales_qualified", "Qualified", "open", 25),
            ("sales_proposal", "Proposal", "open", 50),
            ("sales_negotiation", "Negotiation", "open", 75),
            ("sales_won", "Won", "won", 100),
            ("sales_lost", "Lost", "lost", 0),
        ],
    },
    {
        "key": "renewals",
        "entity": "deal",
        "name": "Renewals",
        "is_default": False,
        "stages": [
            ("renewals_upcoming", "Upcoming", "open", 50),
            ("renewals_in_discussion", "In discussion", "open", 70),
            ("renewals_renewed", "Renewed", "won", 100),
            ("renewals_churned", "Churned", "lost", 0),
        ],
    },
]
