"""Role groups of the base CRM: installed by migrate, and an administrator's policy kept."""

from __future__ import annotations

from django.contrib.auth.models import Group

from crm.kit.roles import ROLE_MEMBER, ROLES, role_group_name, role_groups_install
from crm.models import RolePolicy


def test_migrate_installs_the_four_role_groups_with_unrestricted_policies(db):
    names = [role_group_name("crm", role) for role in ROLES]

    assert sorted(Group.objects.filter(name__in=names).values_list("name", flat=True)) == sorted(
        names
    )
    assert (
        list(
            RolePolicy.objects.filter(group__name__in=names).values_list(
                "own_records_only", flat=True
            )
        )
        == [False] * 4
    )


def test_reinstalling_roles_keeps_a_policy_an_administrator_changed(db):
    member = Group.objects.get(name=role_group_name("crm", ROLE_MEMBER))
    RolePolicy.objects.filter(group=member).update(own_records_only=True)

    role_groups_install(app_label="crm")

    assert RolePolicy.objects.get(group=member).own_records_only is True
    assert member.permissions.filter(codename="change_contact").exists()
    assert not member.permissions.filter(codename="delete_contact").exists()
